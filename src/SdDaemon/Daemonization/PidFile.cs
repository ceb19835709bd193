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
/// -1 too), so the holder is found as the pid written in the file, verified by finding the lock on
/// one of that process's descriptors of the file (/proc/PID/fd and the <c>lock:</c> line of
/// /proc/PID/fdinfo/FD), and otherwise by scanning /proc the same way.
/// </remarks>
internal sealed class PidFile : IDisposable
{
    public const uint FileMode = 0x1A4; // 0644

    private readonly int _fd;
    private readonly byte[] _name;
    private int _directoryFd;
    private byte[]? _pathInRoot;
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

    /// <summary>
    /// Call before chroot(<paramref name="root"/>): closes the descriptor of the PID file's directory,
    /// which lies outside the new root (openat(dirfd, "..") would escape the jail). The file is
    /// removed later by its path inside the root when it lies inside; otherwise it cannot be
    /// removed from inside the jail and stays behind, unlocked (stale), for the next start or
    /// <see cref="DaemonControl.Stop"/> to take over or remove.
    /// </summary>
    public void LeaveDirectoryForRoot(string root)
    {
        string prefix = System.IO.Path.GetFullPath(root).TrimEnd('/');
        _pathInRoot = prefix.Length == 0 ? Libc.Utf8Z(Path)
            : Path.StartsWith(prefix + "/", StringComparison.Ordinal) ? Libc.Utf8Z(Path[prefix.Length..])
            : null;
        Libc.CloseQuietly(_directoryFd);
        _directoryFd = -1;
    }

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
                // Create it exclusively; only if it exists already, open it (never creating, never
                // following a link) and accept it only when it is a plain file of ours with one link.
                int fd;
                bool created = true;
                fixed (byte* n = name)
                {
                    fd = Libc.OpenAt(directoryFd, n, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY, FileMode);
                    if (fd < 0 && Libc.LastErrno == Libc.EEXIST)
                    {
                        created = false;
                        fd = Libc.OpenAt(directoryFd, n, Libc.O_RDWR | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, 0);
                    }
                }

                if (fd < 0)
                {
                    int errno = Libc.LastErrno;
                    if (errno == Errno.ENOENT && !created && attempt < 8)
                    {
                        continue; // removed between the two opens
                    }

                    throw Error(errno, errno == Libc.ELOOP ? $"PID file '{path}' is a symbolic link" : $"cannot open PID file '{path}'");
                }

                try
                {
                    if (!Libc.TryStat(fd, null, out FileIdentity identity, out int statErrno)
                        || !Libc.TryOwnerAndLinks(fd, out uint owner, out uint links, out statErrno))
                    {
                        throw Error(statErrno, $"cannot stat PID file '{path}'");
                    }

                    if ((identity.Mode & Libc.S_IFMT) != Libc.S_IFREG)
                    {
                        throw new IOException($"PID file '{path}' is not a regular file.");
                    }

                    uint self = Libc.GetEUid();
                    if (!created && owner != self)
                    {
                        throw new IOException(string.Create(CultureInfo.InvariantCulture,
                            $"PID file '{path}' is owned by uid {owner}, not by this process's uid {self}: refusing to use it (remove it if it is stale)."));
                    }

                    if (links != 1)
                    {
                        throw new IOException(string.Create(CultureInfo.InvariantCulture,
                            $"PID file '{path}' has {links} hard links: refusing to use it (remove it if it is stale)."));
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

                    _ = Libc.FChmod(fd, FileMode); // ours (checked above): the umask may have narrowed it
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

            bool? writtenHolds = written > 0 ? HoldsLock(written, identity) : false;
            if (writtenHolds == true)
            {
                return PidFileStatus.RunningAt(written);
            }

            // The pid in the file does not hold it (or cannot be checked): look for who does. Having
            // the file open is not enough (tail -f, a concurrent --status): the lock must be on it.
            foreach (string entry in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(System.IO.Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    && pid != written && HoldsLock(pid, identity) == true)
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

    /// <summary>
    /// Whether process <paramref name="pid"/> holds the OFD write lock on the file: one of its
    /// descriptors is the file and /proc/PID/fdinfo/FD lists the lock on that open file description
    /// (<c>lock: 1: OFDLCK ADVISORY WRITE ...</c>). Null when we may not look.
    /// </summary>
    internal static bool? HoldsLock(int pid, FileIdentity identity)
    {
        string directory = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}");
        try
        {
            foreach (string link in Directory.EnumerateFileSystemEntries(directory + "/fd"))
            {
                if (Libc.TryStat(-1, link, out FileIdentity open, out _) && open.SameFile(identity)
                    && HasWriteLockLine(File.ReadLines(directory + "/fdinfo/" + System.IO.Path.GetFileName(link))))
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
            return false; // the process (or that descriptor) is gone
        }
    }

    /// <summary>An fdinfo text's <c>lock:</c> line of an OFD write lock.</summary>
    internal static bool HasWriteLockLine(IEnumerable<string> fdinfo)
    {
        foreach (string line in fdinfo)
        {
            if (line.StartsWith("lock:", StringComparison.Ordinal))
            {
                string[] words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                if (words.Contains("OFDLCK") && words.Contains("WRITE"))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// What a controller (typically root, e.g. <see cref="DaemonControl.Stop"/>) does after the
    /// daemon exited, as start-stop-daemon --remove-pidfile does: removes the file when it still
    /// names <paramref name="pid"/> and nobody holds its lock, holding a read lock meanwhile so that
    /// a starting daemon cannot take it over in between. For a daemon that could not remove its own
    /// file (a privilege drop without write access to the directory, or a chroot). Best effort.
    /// </summary>
    public static unsafe bool RemoveStale(string path, int pid)
    {
        int fd;
        fixed (byte* p = Libc.Utf8Z(path))
        {
            fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, 0);
        }

        if (fd < 0)
        {
            return false;
        }

        try
        {
            Libc.Flock request = new() { Type = Libc.F_RDLCK, Whence = 0, Start = 0, Length = 0 };
            byte* buffer = stackalloc byte[64];
            if (!Libc.TryStat(fd, null, out FileIdentity identity, out _) || (identity.Mode & Libc.S_IFMT) != Libc.S_IFREG
                || Libc.FcntlLock(fd, Libc.F_OFD_SETLK, &request) != 0)
            {
                return false;
            }

            nint length = Libc.PRead(fd, buffer, 64, 0);
            if (length <= 0 || ParsePid(Encoding.ASCII.GetString(buffer, (int)length)) != pid
                || !Libc.TryStat(-1, path, out FileIdentity linked, out _) || !linked.SameFile(identity))
            {
                return false;
            }

            fixed (byte* p = Libc.Utf8Z(path))
            {
                return Libc.UnlinkAt(Libc.AT_FDCWD, p, 0) == 0;
            }
        }
        finally
        {
            Libc.CloseQuietly(fd);
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
        // Through the directory descriptor when there is one (no chroot); after chroot by the path
        // inside the new root. Either way only if it is still our file at that name. Best effort:
        // after a privilege drop the directory may not be writable any more (then the file stays,
        // unlocked, and DaemonControl.Stop removes it).
        int directoryFd = _directoryFd >= 0 ? _directoryFd : Libc.AT_FDCWD;
        byte[]? name = _directoryFd >= 0 ? _name : _pathInRoot;
        if (name is not null && StatAt(directoryFd, name, out FileIdentity linked) && linked.SameFile(_identity))
        {
            fixed (byte* n = name)
            {
                _ = Libc.UnlinkAt(directoryFd, n, 0);
            }
        }

        Libc.CloseQuietly(_fd);
        Libc.CloseQuietly(_directoryFd);
        _directoryFd = -1;
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
