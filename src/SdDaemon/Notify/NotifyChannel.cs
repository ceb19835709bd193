using SdDaemon.Environ;
using SdDaemon.Interop;
using SdDaemon.Notify;

namespace SdDaemon;

/// <summary>
/// The sending side of the notify protocol: the one place that writes notify datagrams.
/// <see cref="Default"/> follows <c>$NOTIFY_SOCKET</c>; <see cref="Create"/> makes a channel to a
/// fixed address (tests, tools, a supervisor of your own).
/// </summary>
/// <remarks>
/// <para>Unlike libsystemd (a new socket per message, spec N-9), an AF_UNIX channel keeps one
/// connected, CLOEXEC socket and reuses it from every thread; it reconnects by itself when the
/// manager re-creates its socket (restart, daemon-reexec) and when NOTIFY_SOCKET changes. A new
/// socket bound at the same path while the old one is still open is followed too: the path's inode is
/// compared with the one connected to at most every 100 ms (for <see cref="Default"/> and
/// <see cref="Create"/>), so sends reach the new socket within that interval (spec N-15).
/// vsock addresses (VMs notifying their host) use a socket per message, like libsystemd.</para>
/// <para>A send never blocks for ever: when the manager's queue is full it waits at most
/// <see cref="SendTimeout"/> for room, then fails with EAGAIN (libsystemd would block).</para>
/// </remarks>
public sealed partial class NotifyChannel : IDisposable
{
    /// <summary>How often <see cref="Default"/> re-reads a set NOTIFY_SOCKET, and how often a channel
    /// checks its socket path for a new socket (see <see cref="Default"/> and the remarks on the class).</summary>
    internal static readonly TimeSpan DefaultRecheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly IEnvironmentSource _environment;
    private readonly string? _fixedAddress;
    private readonly long _recheckMilliseconds;
    private string? _environmentValue;
    private long _environmentReadAt = long.MinValue;
    private readonly object _gate = new();
    private readonly object _environmentGate = new();
    private readonly ConnectedDatagramSocket.Sender _transmitDatagram;
    private readonly ConnectedDatagramSocket.Sender _transmitDatagramNow;
    private volatile Target? _target;
    private TimeSpan _sendTimeout = Deadline.DefaultSendTimeout;
    private bool _disposed;

    internal NotifyChannel(IEnvironmentSource environment, string? fixedAddress, TimeSpan recheckInterval = default)
    {
        _environment = environment;
        _fixedAddress = fixedAddress;
        _recheckMilliseconds = (long)recheckInterval.TotalMilliseconds;
        _transmitDatagram = (fd, _, notification) => Transmit(fd, (Notification)notification!, isStream: false, waitForRoom: true);
        _transmitDatagramNow = (fd, _, notification) => Transmit(fd, (Notification)notification!, isStream: false, waitForRoom: false);
    }

    /// <summary>
    /// The process-wide channel that follows <c>$NOTIFY_SOCKET</c>; used by <see cref="Notification.Send"/>.
    /// The rule (spec N-16): while the variable is unset, every send reads it, so a NOTIFY_SOCKET set
    /// before a call is seen by that call. Once it is set, the value is re-read when it was last read
    /// 100 ms ago or more, after a send that found nobody listening (ECONNREFUSED, ENOENT), and after an
    /// <c>unsetEnvironment</c>: reading .NET's environment allocates a new string each time (80 bytes
    /// for a typical NOTIFY_SOCKET on .NET 10), so sends in quick succession allocate nothing and a
    /// ping every few seconds allocates that one string. Changing or removing a set value with
    /// Environment.SetEnvironmentVariable is therefore followed within 100 ms; a new socket bound at
    /// the same path, within 100 ms as well (see the remarks on the class).
    /// </summary>
    public static NotifyChannel Default { get; } = new(ProcessEnvironmentSource.Instance, null, DefaultRecheckInterval);

    /// <summary>A channel to a fixed address written like NOTIFY_SOCKET (<c>/path</c>, <c>@abstract</c>,
    /// <c>vsock:CID:PORT</c>), independent of the environment. A malformed address fails each send
    /// with the errno libsystemd gives it.</summary>
    public static NotifyChannel Create(string notifySocket)
    {
        ArgumentNullException.ThrowIfNull(notifySocket);
        return new NotifyChannel(ProcessEnvironmentSource.Instance, notifySocket, DefaultRecheckInterval);
    }

    /// <summary>
    /// How long a send waits for room when the manager's queue is full before it fails with
    /// EAGAIN; also bounds the vsock stream handshake. Default 2 seconds; <see cref="TimeSpan.Zero"/>
    /// fails at once. Must be below 24 days.
    /// </summary>
    public TimeSpan SendTimeout
    {
        get => _sendTimeout;
        set => _sendTimeout = Deadline.CheckSendTimeout(value);
    }

    /// <summary>
    /// Sends <paramref name="notification"/>. See <see cref="Notification.Send"/> for the contract.
    /// </summary>
    /// <exception cref="ArgumentException">A handle in <see cref="Notification.Files"/> is closed, or
    /// FDSTORE=1 has no descriptor.</exception>
    /// <exception cref="ObjectDisposedException">This channel was disposed.</exception>
    public NotifyResult Send(Notification notification, bool unsetEnvironment = false)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(notification);
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (notification.StoresFiles && notification.Files.Count == 0)
            {
                throw new ArgumentException("FDSTORE=1 needs at least one descriptor in Files.", nameof(notification));
            }

            if (notification.PassesMainPidFd && notification.Files.Count != 1)
            {
                throw new ArgumentException($"MAINPIDFD=1 needs exactly one descriptor (the pidfd) in Files, not {notification.Files.Count}; the manager ignores it otherwise.", nameof(notification));
            }

            return SendCore(notification, waitForRoom: true);
        }
        finally
        {
            // Spec N-13: unset on every path, and only NOTIFY_SOCKET.
            if (unsetEnvironment)
            {
                UnsetEnvironment();
            }
        }
    }

    /// <summary><see cref="Notification.SendMainPid(int, bool)"/> on this channel.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pid"/> is not positive.</exception>
    /// <exception cref="ObjectDisposedException">This channel was disposed.</exception>
    public NotifyResult SendMainPid(int pid, bool unsetEnvironment = false)
    {
        try
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!OperatingSystem.IsLinux())
            {
                return NotifyResult.NotListening; // as every send off Linux
            }

            int pidFd = Libc.PidFdOpen(pid, 0);
            if (pidFd < 0)
            {
                int errno = Libc.LastErrno;
                if (errno == Errno.ESRCH)
                {
                    return NotifyResult.Failure(errno, $"there is no process {pid} to make the main process");
                }

                if (!Errno.IsNotSupported(errno))
                {
                    return NotifyResult.Failure(errno, $"cannot open a pidfd for process {pid}");
                }

                // No pidfds on this kernel: the number alone, as before systemd 257.
                return SendCore(new Notification(NotifyState.MainPid(pid)), waitForRoom: true);
            }

            // Spec N-17: the manager's duplicate is what counts; ours is closed once sent.
            using var handle = new FileDescriptorHandle(pidFd);
            Notification notification = Libc.PidFdInodeId(pidFd, out ulong id) == 0
                ? new Notification(NotifyState.MainPid(pid), NotifyState.MainPidFdId(id), NotifyState.MainPidFd) { Files = [handle] }
                : new Notification(NotifyState.MainPid(pid), NotifyState.MainPidFd) { Files = [handle] };
            return SendCore(notification, waitForRoom: true);
        }
        finally
        {
            if (unsetEnvironment)
            {
                UnsetEnvironment();
            }
        }
    }

    /// <summary>sd_notify_barrier(3) on this channel; see <see cref="Notification.Barrier"/>.</summary>
    /// <exception cref="ObjectDisposedException">This channel was disposed.</exception>
    public unsafe NotifyResult Barrier(TimeSpan timeout, bool unsetEnvironment = false)
    {
        try
        {
            if (timeout != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!OperatingSystem.IsLinux())
            {
                return NotifyResult.NotListening;
            }

            int* fds = stackalloc int[2];
            if (Libc.Pipe2(fds, Libc.O_CLOEXEC) != 0)
            {
                return NotifyResult.Failure(Libc.LastErrno, "cannot create the barrier pipe");
            }

            using var readEnd = new FileDescriptorHandle(fds[0]);
            var writeEnd = new FileDescriptorHandle(fds[1]);
            NotifyResult sent;
            try
            {
                sent = SendCore(new Notification(NotifyState.Barrier) { Files = [writeEnd] }, waitForRoom: true);
            }
            finally
            {
                // Spec N-14: our write end must be closed, so that only the manager's copy keeps it open.
                writeEnd.Dispose();
            }

            if (!sent.IsSent)
            {
                return sent;
            }

            return WaitForHangUp(fds[0], timeout);
        }
        finally
        {
            if (unsetEnvironment)
            {
                UnsetEnvironment();
            }
        }
    }

    /// <summary>Closes the cached socket. Disposing <see cref="Default"/> is ignored.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, Default))
        {
            return;
        }

        lock (_gate)
        {
            _disposed = true;
            _target?.Dispose();
            _target = null;
        }
    }

    /// <summary>
    /// Sends <paramref name="notification"/> without waiting for room: when the manager's queue is
    /// full it fails with EAGAIN at once instead of waiting <see cref="SendTimeout"/>. For the
    /// watchdog keep-alive, which retries on a schedule of its own that Dispose can interrupt.
    /// </summary>
    internal NotifyResult SendWithoutWaiting(Notification notification)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return SendCore(notification, waitForRoom: false);
    }

    private NotifyResult SendCore(Notification notification, bool waitForRoom)
    {
        if (!OperatingSystem.IsLinux())
        {
            return NotifyResult.NotListening; // not a systemd platform: never under a manager
        }

        for (int attempt = 0; ; attempt++)
        {
            string? text = _fixedAddress ?? ReadNotifySocket();
            if (text is null)
            {
                return NotifyResult.NotListening; // spec N-1
            }

            Target target = GetTarget(text);
            if (target.Address is not { } address)
            {
                return NotifyResult.Failure(target.ParseErrno, target.ParseDetail);
            }

            NotifyResult result = address.Family == Libc.AF_UNIX
                ? SendUnix(target, notification, waitForRoom)
                : SendPerMessageSocket(address, notification, waitForRoom);
            if (result.IsFailed && target.IsDisposed && attempt == 0)
            {
                continue; // NOTIFY_SOCKET changed under us and another thread replaced the target: once more
            }

            if (result.Errno is Errno.ECONNREFUSED or Errno.ENOENT)
            {
                Volatile.Write(ref _environmentReadAt, long.MinValue); // the manager moved? look again next time
            }

            return result;
        }
    }

    private string? ReadNotifySocket()
    {
        long now = System.Environment.TickCount64;
        long readAt = Volatile.Read(ref _environmentReadAt);
        if (readAt != long.MinValue && now - readAt < _recheckMilliseconds)
        {
            return Volatile.Read(ref _environmentValue);
        }

        // Re-reads and unsets are serialized, so a value read before an unset is never stored after it.
        lock (_environmentGate)
        {
            string? value = _environment.Get(EnvironmentVariables.NotifySocket);
            Volatile.Write(ref _environmentValue, value);
            // Spec N-16: "unset" is never cached (reading a missing variable allocates nothing), so a
            // variable set after this send is seen by the next one.
            Volatile.Write(ref _environmentReadAt, value is null ? long.MinValue : now);
            return value;
        }
    }

    private void UnsetEnvironment()
    {
        lock (_environmentGate)
        {
            _environment.Remove(EnvironmentVariables.NotifySocket);
            Volatile.Write(ref _environmentValue, null);
            Volatile.Write(ref _environmentReadAt, long.MinValue);
        }
    }

    private Target GetTarget(string text)
    {
        Target? target = _target;
        if (target is not null && (ReferenceEquals(target.Text, text) || target.Text == text))
        {
            return target;
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            target = _target;
            if (target is null || target.Text != text)
            {
                Target? old = target;
                target = new Target(text, TimeSpan.FromMilliseconds(_recheckMilliseconds));
                _target = target;
                old?.Dispose(); // a sender still using it holds a reference; the fd closes after it
            }

            return target;
        }
    }

    private NotifyResult SendUnix(Target target, Notification notification, bool waitForRoom)
    {
        int errno = target.Socket!.Send(default, notification, waitForRoom ? _transmitDatagram : _transmitDatagramNow, out bool connectFailed);
        return errno == 0 ? NotifyResult.Sent
            : connectFailed ? NotifyResult.Failure(errno, $"cannot connect to NOTIFY_SOCKET '{target.Text}'")
            : NotifyResult.Failure(errno, DescribeSendError(errno));
    }

    private static NotifyResult WaitForHangUp(int readFd, TimeSpan timeout)
    {
        // POLLHUP is reported whatever the requested events: ask for none (spec N-14).
        if (Deadline.WaitFor(readFd, 0, Deadline.After(timeout), out int errno))
        {
            return NotifyResult.Sent;
        }

        return errno == 0
            ? NotifyResult.Failure(Errno.ETIMEDOUT, $"the manager did not process the barrier within {timeout}")
            : NotifyResult.Failure(errno, "waiting for the barrier failed");
    }

    private static string? DescribeSendError(int errno) => errno switch
    {
        Errno.EAGAIN => "the manager's queue stayed full for the whole SendTimeout",
        Errno.ECONNREFUSED => "nobody is listening on NOTIFY_SOCKET (the manager went away)",
        Errno.EBADF => "a descriptor in Files is not open",
        _ => null,
    };
}
