using System.Globalization;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// A PID file held for a daemon's life (daemon(7) step 12): created race-free with
/// O_NOFOLLOW|O_CLOEXEC and mode 0644, locked with an open-file-description lock (F_OFD_SETLK) on
/// the whole file, written with the pid, removed on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// Why an OFD lock: a classic POSIX lock (F_SETLK) belongs to the process and is dropped when the
/// process closes ANY descriptor of the file (a library reading the pid file would release it);
/// flock locks cannot be queried. The cost: F_OFD_GETLK reports l_pid = -1 (and /proc/locks shows
/// -1 too), so the holder is found as the pid written in the file, verified by finding the file
/// among that process's open descriptors (/proc/PID/fd), and otherwise by scanning /proc.
/// </remarks>
internal sealed class PidFile : IDisposable
{
    public const uint FileMode = 0x1A4; // 0644

    private readonly int _fd;
    private readonly int _directoryFd;
    private readonly byte[] _name;
    private readonly FileIdentity _identity;
    private bool _disposed;

    private PidFile(string path, int fd, int directoryFd, byte[] name, FileIdentity identity)
    {
        Path = path;
        _fd = fd;
        _directoryFd = directoryFd;
        _name = name;
        _identity = identity;
    }

    public string Path { get; }

    public int Fd => _fd;

    public int DirectoryFd => _directoryFd;

    /// <summary>Creates or takes over <paramref name="path"/>, locks it, writes <paramref name="pid"/>.</summary>
    /// <exception cref="DaemonAlreadyRunningException">Another process holds the lock.</exception>
    /// <exception cref="IOException">The file cannot be opened, is not a regular file, or cannot be written.</exception>
    public static unsafe PidFile Acquire(string path, int pid)
    {
        path = System.IO.Path.GetFullPath(path);
        string directory = System.IO.Path.GetDirectoryName(path) ?? "/";
        byte[] name = Libc.Utf8Z(System.IO.Path.GetFileName(path));
        int directoryFd;
        fixed (byte* d = Libc.Utf8Z(directory))
        {
            directoryFd = Libc.Open(d, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        }

        if (directoryFd < 0)
        {
            throw Error(Libc.LastErrno, $"cannot open the PID file's directory '{directory}'");
        }

        try
        {
            for (int attempt = 0; ; attempt++)
            {
                int fd;
                fixed (byte* n = name)
                {
                    fd = Libc.OpenAt(directoryFd, n, Libc.O_RDWR | Libc.O_CREAT | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY, FileMode);
                }

                if (fd < 0)
                {
                    int errno = Libc.LastErrno;
                    throw Error(errno, errno == 40 /* ELOOP */ ? $"PID file '{path}' is a symbolic link" : $"cannot open PID file '{path}'");
                }

                try
                {
                    if (!Libc.TryStat(fd, null, out FileIdentity identity, out int statErrno))
                    {
                        throw Error(statErrno, $"cannot stat PID file '{path}'");
                    }

                    if ((identity.Mode & Libc.S_IFMT) != Libc.S_IFREG)
                    {
                        throw new IOException($"PID file '{path}' is not a regular file.");
                    }

                    Libc.Flock lockRequest = new() { Type = Libc.F_WRLCK, Whence = 0, Start = 0, Length = 0 };
                    if (Libc.FcntlLock(fd, Libc.F_OFD_SETLK, &lockRequest) != 0)
                    {
                        int errno = Libc.LastErrno;
                        if (errno is Errno.EAGAIN or Errno.EACCES)
                        {
                            PidFileStatus status = Inspect(path);
                            throw new DaemonAlreadyRunningException(path, status.Running ? status.Pid : 0);
                        }

                        throw Error(errno, $"cannot lock PID file '{path}'");
                    }

                    // A daemon that was exiting may have unlinked the file between our open and our lock:
                    // then we hold a lock on a file nobody can find. Retry with the file at the path now.
                    if (!StatAt(directoryFd, name, out FileIdentity linked) || !linked.SameFile(identity))
                    {
                        if (attempt < 8)
                        {
                            Libc.CloseQuietly(fd);
                            fd = -1;
                            continue;
                        }

                        throw new IOException($"PID file '{path}' keeps being replaced.");
                    }

                    _ = Libc.FChmod(fd, FileMode); // the umask may have narrowed it; a file of another owner stays as it is
                    byte[] text = Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n");
                    fixed (byte* t = text)
                    {
                        if (Libc.FTruncate(fd, 0) != 0 || Libc.PWrite(fd, t, (nuint)text.Length, 0) != text.Length)
                        {
                            throw Error(Libc.LastErrno, $"cannot write PID file '{path}'");
                        }
                    }

                    var pidFile = new PidFile(path, fd, directoryFd, name, identity);
                    fd = -1;
                    directoryFd = -1;
                    return pidFile;
                }
                finally
                {
                    Libc.CloseQuietly(fd);
                }
            }
        }
        finally
        {
            Libc.CloseQuietly(directoryFd);
        }
    }

    /// <summary>Is a daemon holding <paramref name="path"/>, and which pid?</summary>
    public static unsafe PidFileStatus Inspect(string path)
    {
        int fd;
        fixed (byte* p = Libc.Utf8Z(path))
        {
            fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY, 0);
        }

        if (fd < 0)
        {
            int errno = Libc.LastErrno;
            return errno == Errno.ENOENT
                ? PidFileStatus.NotRunning($"PID file '{path}' does not exist")
                : PidFileStatus.NotRunning($"cannot open PID file '{path}': errno {errno}");
        }

        try
        {
            Libc.Flock query = new() { Type = Libc.F_WRLCK, Whence = 0, Start = 0, Length = 0 };
            if (Libc.FcntlLock(fd, Libc.F_OFD_GETLK, &query) != 0)
            {
                return PidFileStatus.NotRunning($"cannot query the lock of PID file '{path}': errno {Libc.LastErrno}");
            }

            byte* buffer = stackalloc byte[64];
            nint length = Libc.Read(fd, buffer, 64);
            string text = length > 0 ? Encoding.ASCII.GetString(buffer, (int)length) : "";
            int written = ParsePid(text);
            if (query.Type == Libc.F_UNLCK)
            {
                return PidFileStatus.NotRunning(written > 0
                    ? $"PID file '{path}' is stale: no process holds its lock (it names pid {written})"
                    : $"PID file '{path}' is not locked by any process");
            }

            if (!Libc.TryStat(fd, null, out FileIdentity identity, out _))
            {
                return PidFileStatus.NotRunning($"cannot stat PID file '{path}'");
            }

            int self = System.Environment.ProcessId;
            bool? writtenHolds = written > 0 ? HasOpen(written, identity, written == self ? fd : -1) : false;
            if (writtenHolds == true)
            {
                return PidFileStatus.RunningAt(written);
            }

            // The pid in the file does not hold it (or cannot be checked): look for who does. Our own
            // query descriptor does not count.
            foreach (string entry in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(System.IO.Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && pid != written && HasOpen(pid, identity, pid == self ? fd : -1) == true)
                {
                    return PidFileStatus.RunningAt(pid);
                }
            }

            if (writtenHolds is null && (Libc.Kill(written, 0) == 0 || Libc.LastErrno == Errno.EPERM))
            {
                return PidFileStatus.RunningAt(written); // its /proc/PID/fd is not readable for us: trust the file
            }

            return PidFileStatus.NotRunning($"PID file '{path}' is locked, but no process holding it can be identified");
        }
        finally
        {
            Libc.CloseQuietly(fd);
        }
    }

    /// <summary>The pid in a PID file's text: decimal digits and an optional trailing newline; 0 when malformed.</summary>
    public static int ParsePid(string text)
    {
        ReadOnlySpan<char> span = text.AsSpan().TrimEnd('\n');
        return span.Length is > 0 and <= 10 && !span.ContainsAnyExceptInRange('0', '9')
            && int.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : 0;
    }

    /// <summary>Whether process <paramref name="pid"/> has the file open; null when we may not look.</summary>
    internal static bool? HasOpen(int pid, FileIdentity identity, int ignoreFd = -1)
    {
        string ignored = ignoreFd.ToString(CultureInfo.InvariantCulture);
        string directory = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}/fd");
        try
        {
            foreach (string link in Directory.EnumerateFileSystemEntries(directory))
            {
                if (System.IO.Path.GetFileName(link) != ignored && Libc.TryStat(-1, link, out FileIdentity open, out _) && open.SameFile(identity))
                {
                    return true;
                }
            }

            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException)
        {
            return false; // the process is gone
        }
    }

    /// <summary>Removes the file (if it is still ours at that name) and releases the lock.</summary>
    public unsafe void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // Through the directory descriptor, so that it works after chroot; best effort after a privilege drop.
        if (StatAt(_directoryFd, _name, out FileIdentity linked) && linked.SameFile(_identity))
        {
            fixed (byte* n = _name)
            {
                _ = Libc.UnlinkAt(_directoryFd, n, 0);
            }
        }

        Libc.CloseQuietly(_fd);
        Libc.CloseQuietly(_directoryFd);
    }

    private static unsafe bool StatAt(int directoryFd, byte[] name, out FileIdentity identity)
    {
        Libc.Statx buffer;
        fixed (byte* n = name)
        {
            if (Libc.StatxRaw(directoryFd, n, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, &buffer) != 0)
            {
                identity = default;
                return false;
            }
        }

        identity = new FileIdentity(buffer.DevMajor, buffer.DevMinor, buffer.Ino, buffer.Mode);
        return true;
    }

    private static IOException Error(int errno, string what) =>
        new($"{what}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})") { HResult = errno };
}

/// <summary>What a PID file says: a running daemon's pid, or why none runs.</summary>
internal readonly record struct PidFileStatus(bool Running, int Pid, string Message)
{
    public static PidFileStatus RunningAt(int pid) => new(true, pid, string.Create(CultureInfo.InvariantCulture, $"running as pid {pid}"));

    public static PidFileStatus NotRunning(string why) => new(false, 0, why);
}
