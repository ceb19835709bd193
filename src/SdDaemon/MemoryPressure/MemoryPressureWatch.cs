using System.Runtime.Versioning;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Watches the memory pressure the manager points the service at with MemoryPressureWatch=
/// (systemd 254+): <c>$MEMORY_PRESSURE_WATCH</c> names a PSI file (the unit's cgroup
/// <c>memory.pressure</c>), and the base64 <c>$MEMORY_PRESSURE_WRITE</c> the trigger to arm on it,
/// as sd-event's <c>sd_event_add_memory_pressure()</c> does (see
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_event_add_memory_pressure.html">sd_event_add_memory_pressure(3)</see>
/// and <see href="https://systemd.io/MEMORY_PRESSURE/">systemd.io/MEMORY_PRESSURE</see>).
/// A thread of its own polls; the handler runs on it at most once per minimum interval (events in
/// between are folded into the next call). Exceptions from the handler are caught and counted in
/// <see cref="HandlerFailures"/> so that the watch goes on (spec M-1..M-4).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class MemoryPressureWatch : IDisposable
{
    private const long ProcSuperMagic = 0x9fa0;
    private const long Cgroup2SuperMagic = 0x63677270;
    private const short PollPri = 0x002;

    private readonly FileDescriptorHandle _fd;
    private readonly short _events;
    private readonly Action _handler;
    private readonly TimeSpan _minimumInterval;
    private readonly int[] _wake = new int[2];
    private readonly Thread _thread;
    private long _eventsRaised;
    private long _handlerFailures;
    private int _disposed;

    private MemoryPressureWatch(string path, FileDescriptorHandle fd, short events, Action handler, TimeSpan minimumInterval, int wakeRead, int wakeWrite)
    {
        Path = path;
        _fd = fd;
        _events = events;
        _handler = handler;
        _minimumInterval = minimumInterval;
        _wake[0] = wakeRead;
        _wake[1] = wakeWrite;
        _thread = new Thread(Run) { IsBackground = true, Name = "SdDaemon memory pressure" };
        _thread.Start();
    }

    /// <summary>The path watched (<c>$MEMORY_PRESSURE_WATCH</c>).</summary>
    public string Path { get; }

    /// <summary>How many times the handler was called.</summary>
    public long EventsRaised => Interlocked.Read(ref _eventsRaised);

    /// <summary>How many handler calls threw.</summary>
    public long HandlerFailures => Interlocked.Read(ref _handlerFailures);

    /// <summary>The last exception a handler threw, if any.</summary>
    public Exception? LastHandlerException { get; private set; }

    /// <summary>True once the watched file reported an error or end of file (the cgroup went away, the peer closed); the watch then ends.</summary>
    public bool Ended { get; private set; }

    /// <summary>
    /// Arms the trigger of <c>$MEMORY_PRESSURE_WATCH</c> and calls <paramref name="handler"/> on
    /// memory pressure, at most once per <paramref name="minimumInterval"/>. Never throws for what
    /// the environment holds: see <see cref="MemoryPressureWatchResult"/>.
    /// </summary>
    public static MemoryPressureWatchResult Start(Action handler, TimeSpan minimumInterval) =>
        Start(ProcessEnvironmentSource.Instance, handler, minimumInterval);

    internal static MemoryPressureWatchResult Start(IEnvironmentSource environment, Action handler, TimeSpan minimumInterval)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumInterval, TimeSpan.Zero);
        string? path = environment.Get(EnvironmentVariables.MemoryPressureWatch);
        if (path is null)
        {
            return NotAvailable(0, $"{EnvironmentVariables.MemoryPressureWatch} is unset (no MemoryPressureWatch= in the unit, systemd before 254, or no service manager)");
        }

        if (path.Length == 0 || path == "/dev/null")
        {
            return NotAvailable(Errno.EHOSTDOWN, $"memory pressure watching is disabled ({EnvironmentVariables.MemoryPressureWatch}='{path}')");
        }

        if (!IsNormalizedAbsolute(path))
        {
            return Failure(Errno.EBADMSG, $"{EnvironmentVariables.MemoryPressureWatch}='{path}' is not a normalized absolute path");
        }

        byte[] trigger;
        try
        {
            trigger = Convert.FromBase64String(environment.Get(EnvironmentVariables.MemoryPressureWrite) ?? "");
        }
        catch (FormatException)
        {
            return Failure(Errno.EINVAL, $"{EnvironmentVariables.MemoryPressureWrite} is not base64");
        }

        return Open(path, trigger, handler, minimumInterval);
    }

    private static unsafe MemoryPressureWatchResult Open(string path, byte[] trigger, Action handler, TimeSpan minimumInterval)
    {
        int error = Libc.PathStatx(path, Libc.STATX_TYPE, out Libc.Statx st);
        if (error != 0)
        {
            return Failure(error, $"{EnvironmentVariables.MemoryPressureWatch}={path} cannot be used");
        }

        int fd;
        short events;
        switch (st.FileType)
        {
            case Libc.S_IFSOCK:
                fd = ConnectUnix(path, out error);
                events = Libc.POLLIN;
                break;
            case Libc.S_IFREG or Libc.S_IFIFO or Libc.S_IFCHR:
                byte[] z = Libc.Utf8Z(path);
                fixed (byte* p = z)
                {
                    int access = trigger.Length > 0 ? Libc.O_RDWR : Libc.O_RDONLY;
                    fd = Libc.Open(p, access | Libc.O_CLOEXEC | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0);
                    error = fd < 0 ? Libc.LastErrno : 0;
                }

                // A regular file is a PSI file only on procfs or cgroupfs, where the kernel signals POLLPRI.
                events = st.FileType == Libc.S_IFREG ? PollPri : Libc.POLLIN;
                if (fd >= 0 && st.FileType == Libc.S_IFREG && !IsPressureFileSystem(fd))
                {
                    _ = Libc.Close(fd);
                    return Failure(Errno.ENOTTY, $"{EnvironmentVariables.MemoryPressureWatch}={path} is a regular file outside /proc and the cgroup file system, not a PSI file");
                }

                break;
            case Libc.S_IFDIR:
                return Failure(Errno.EISDIR, $"{EnvironmentVariables.MemoryPressureWatch}={path} is a directory");
            default:
                return Failure(Errno.EBADF, $"{EnvironmentVariables.MemoryPressureWatch}={path} is neither a PSI file, a FIFO nor a socket");
        }

        if (fd < 0)
        {
            return Failure(error, $"{EnvironmentVariables.MemoryPressureWatch}={path} cannot be opened");
        }

        var handle = new FileDescriptorHandle(fd);
        error = Libc.WriteAll(fd, trigger);
        if (error != 0)
        {
            handle.Dispose();
            // A kernel built with CONFIG_PSI_DEFAULT_DISABLED has the files but refuses the trigger
            // with EOPNOTSUPP: that is "no PSI", as for sd-event, not a failure of the unit.
            return Errno.IsNotSupported(error)
                ? NotAvailable(error, Errno.Describe($"the kernel refuses memory pressure triggers on {path}", error))
                : Failure(error, $"arming the memory pressure trigger on {path} failed");
        }

        int* wake = stackalloc int[2];
        if (Libc.Pipe2(wake, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0)
        {
            error = Libc.LastErrno;
            handle.Dispose();
            return Failure(error, $"pipe2 failed");
        }

        var watch = new MemoryPressureWatch(path, handle, events, handler, minimumInterval, wake[0], wake[1]);
        return new MemoryPressureWatchResult(MemoryPressureWatchOutcome.Watching, 0, $"watching {path}", watch);
    }

    /// <summary>Stops the thread and closes the file (the kernel drops the trigger with it).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        WriteWake();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }

        _fd.Dispose();
        _ = Libc.Close(_wake[0]);
        _ = Libc.Close(_wake[1]);
    }

    private unsafe void Run()
    {
        Libc.PollFd* fds = stackalloc Libc.PollFd[2];
        while (Volatile.Read(ref _disposed) == 0)
        {
            fds[0] = new Libc.PollFd { Fd = _fd.Fd, Events = _events };
            fds[1] = new Libc.PollFd { Fd = _wake[0], Events = Libc.POLLIN };
            if (Libc.Poll(fds, 2, -1) < 0)
            {
                if (Libc.LastErrno == Errno.EINTR)
                {
                    continue;
                }

                Ended = true;
                return;
            }

            if (fds[1].REvents != 0)
            {
                return;
            }

            short revents = fds[0].REvents;
            bool pressure = (revents & _events) != 0;
            bool ended = (revents & (Libc.POLLERR | Libc.POLLHUP | 0x20 /* POLLNVAL */)) != 0;
            if (_events == Libc.POLLIN && (revents & (Libc.POLLIN | Libc.POLLHUP)) != 0)
            {
                // A FIFO or socket the manager (or a test) writes to: what was written is the event.
                (pressure, ended) = Drain();
            }

            if (pressure)
            {
                Raise();
            }

            if (ended)
            {
                Ended = true;
                return;
            }

            if (pressure && _minimumInterval > TimeSpan.Zero)
            {
                // The rate limit: wait out the interval (or disposal); what happens meanwhile is
                // still pending on the fd and raises once afterwards. Until a deadline, through
                // EINTR: a signal for the process (a child's SIGCHLD) may land on this thread, and
                // a poll it cut short would let the next event through early.
                _ = Deadline.WaitFor(_wake[0], Libc.POLLIN, Deadline.After(_minimumInterval), out _);
            }
        }
    }

    private unsafe (bool Data, bool Eof) Drain()
    {
        byte* buffer = stackalloc byte[256];
        bool data = false;
        while (true)
        {
            nint n = Libc.Read(_fd.Fd, buffer, 256);
            if (n > 0)
            {
                data = true;
                continue;
            }

            if (n == 0)
            {
                return (data, true);
            }

            return (data, Libc.LastErrno is not (Errno.EAGAIN or Errno.EINTR));
        }
    }

    private void Raise()
    {
        Interlocked.Increment(ref _eventsRaised);
        try
        {
            _handler();
        }
        catch (Exception e)
        {
            LastHandlerException = e;
            Interlocked.Increment(ref _handlerFailures);
        }
    }

    private unsafe void WriteWake()
    {
        byte one = 1;
        _ = Libc.Write(_wake[1], &one, 1);
    }

    private static unsafe int ConnectUnix(string path, out int error)
    {
        // Non-blocking, as sd-event: a unix connect completes at once (or fails with EAGAIN when the
        // listener's backlog is full), the trigger fits the socket buffer, and reads drain events.
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (fd < 0)
        {
            error = Libc.LastErrno;
            return -1;
        }

        byte[] address = UnixSocketAddress.Encode(path);
        fixed (byte* a = address)
        {
            if (Libc.Connect(fd, a, (uint)address.Length) != 0)
            {
                error = Libc.LastErrno;
                _ = Libc.Close(fd);
                return -1;
            }
        }

        error = 0;
        return fd;
    }

    private static unsafe bool IsPressureFileSystem(int fd)
    {
        long* statfs = stackalloc long[32]; // struct statfs starts with f_type (a long on 64-bit)
        return Libc.FStatFs(fd, statfs) == 0 && statfs[0] is ProcSuperMagic or Cgroup2SuperMagic;
    }

    private static bool IsNormalizedAbsolute(string path)
    {
        if (path[0] != '/')
        {
            return false;
        }

        // path_is_normalized(): no "." or ".." component and no "//"; a trailing "/" is allowed.
        string[] segments = path.Split('/');
        for (int i = 1; i < segments.Length; i++)
        {
            if (segments[i] is "." or ".." || (segments[i].Length == 0 && i != segments.Length - 1))
            {
                return false;
            }
        }

        return true;
    }

    private static MemoryPressureWatchResult NotAvailable(int errno, string message) =>
        new(MemoryPressureWatchOutcome.NotAvailable, errno, message, null);

    private static MemoryPressureWatchResult Failure(int errno, string what) =>
        new(MemoryPressureWatchOutcome.Failed, errno, Errno.Describe(what, errno), null);
}
