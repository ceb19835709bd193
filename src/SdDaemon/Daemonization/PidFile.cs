using System.Globalization;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// A PID file held for a daemon's life (daemon(7) step 12): written with the pid, mode 0644, then
/// locked with an open-file-description lock (F_OFD_SETLK) on the whole file through a read-only
/// description, and only then put at its path; removed on <see cref="Dispose"/>.
/// </summary>
/// <remarks>
/// <para>Why an OFD lock: a classic POSIX lock (F_SETLK) belongs to the process and is dropped when
/// the process closes ANY descriptor of the file (a library reading the pid file would release it);
/// flock locks cannot be queried. The cost: F_OFD_GETLK reports l_pid = -1 (and /proc/locks shows
/// -1 too), so the holder is found as the pid written in the file, verified by finding the lock on
/// one of that process's descriptors of the file (/proc/PID/fd and the <c>lock:</c> line of
/// /proc/PID/fdinfo/FD), and otherwise by scanning /proc the same way.</para>
/// <para>Which lock is the daemon's (spec D-18): the file is world-readable, so anyone may take a
/// shared lock on it; only a lock on a description that the file's owner opened counts: a writable
/// one, or one opened with O_NOATIME, which open(2) allows only to the owner (or CAP_FOWNER). The
/// daemon's own description is read-only with O_NOATIME: after a privilege drop it holds no
/// descriptor through which it could rewrite the pid that root later signals (spec D-20).</para>
/// <para>Why the daemon never locks the file it finds: a reader's shared lock would block its
/// exclusive one for ever. Under <see cref="PidFileGuard"/> a starter examines the file at the
/// path; when no daemon holds it, it writes a new file under a temporary name, locks it, closes
/// the writable descriptor and renames it over the path (spec D-19). Race-free: starters and
/// controllers change the path only under the guard, and a file is at the path only once its
/// daemon's lock is on it, until that daemon removes it (still locked) or dies.</para>
/// </remarks>
internal sealed class PidFile : IDisposable
{
    public const uint FileMode = 0x1A4; // 0644

    /// <summary>Only this many names are tried for the new file (each 64 random bits; a collision means someone plants names).</summary>
    private const int MaxTemporaryNames = 8;

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

    /// <summary>The read-only, locked descriptor (O_NOATIME, close-on-exec).</summary>
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

    /// <summary>Puts a new file with <paramref name="pid"/> at <paramref name="path"/>, locked, unless a daemon holds the one there.</summary>
    /// <exception cref="DaemonAlreadyRunningException">A daemon holds the file at the path.</exception>
    /// <exception cref="IOException">The file at the path is not a plain file of ours, or cannot be examined; the new one cannot be written.</exception>
    public static unsafe PidFile Acquire(string path, int pid)
    {
        path = System.IO.Path.GetFullPath(path);
        string fileName = System.IO.Path.GetFileName(path);
        byte[] name = Libc.Utf8Z(fileName);
        int directoryFd = OpenDirectory(path);
        try
        {
            using PidFileGuard guard = PidFileGuard.Take(directoryFd, fileName, path);
            PidFileStatus status = Examine(directoryFd, name, path, forTakeOver: true);
            if (status.Running)
            {
                throw new DaemonAlreadyRunningException(path, status.Pid);
            }

            if (status.State == PidFileState.Unknown)
            {
                throw new IOException(status.Message) { HResult = status.Errno };
            }

            (int fd, FileIdentity identity) = WriteLocked(directoryFd, fileName, path, pid);
            var pidFile = new PidFile(path, fd, directoryFd, name, identity);
            directoryFd = -1;
            return pidFile;
        }
        finally
        {
            Libc.CloseQuietly(directoryFd);
        }
    }

    /// <summary>
    /// The new file: created under a random name, written, locked through a second, read-only
    /// O_NOATIME description, the writable one closed, then renamed over <paramref name="path"/>.
    /// Returns the locked descriptor.
    /// </summary>
    private static unsafe (int Fd, FileIdentity Identity) WriteLocked(int directoryFd, string fileName, string path, int pid)
    {
        for (int attempt = 0; ; attempt++)
        {
            byte[] temporary = Libc.Utf8Z($".{fileName}.{StageMarker.NewToken()[..16]}");
            int writer;
            fixed (byte* t = temporary)
            {
                writer = Libc.OpenAt(directoryFd, t, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY, FileMode);
            }

            if (writer < 0)
            {
                int errno = Libc.LastErrno;
                if (errno == Errno.EEXIST && attempt < MaxTemporaryNames)
                {
                    continue;
                }

                throw Error(errno, $"cannot create a new PID file next to '{path}'");
            }

            int reader = -1;
            bool renamed = false;
            try
            {
                if (!Libc.TryStat(writer, null, out FileIdentity identity, out int statErrno))
                {
                    throw Error(statErrno, $"cannot stat the new PID file for '{path}'");
                }

                _ = Libc.FChmod(writer, FileMode); // the umask may have narrowed it
                byte[] text = Encoding.ASCII.GetBytes(pid.ToString(CultureInfo.InvariantCulture) + "\n");
                fixed (byte* b = text)
                {
                    if (Libc.PWrite(writer, b, (nuint)text.Length, 0) != text.Length)
                    {
                        throw Error(Libc.LastErrno, $"cannot write the new PID file for '{path}'");
                    }
                }

                fixed (byte* t = temporary)
                {
                    reader = Libc.OpenAt(directoryFd, t, Libc.O_RDONLY | Libc.O_NOATIME | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, 0);
                }

                if (reader < 0 || !Libc.TryStat(reader, null, out FileIdentity opened, out _) || !opened.SameFile(identity))
                {
                    throw Error(reader < 0 ? Libc.LastErrno : Errno.EIO, $"cannot reopen the new PID file for '{path}' read-only");
                }

                Libc.Flock request = new() { Type = Libc.F_RDLCK };
                if (Libc.FcntlLock(reader, Libc.F_OFD_SETLK, &request) != 0)
                {
                    throw Error(Libc.LastErrno, $"cannot lock the new PID file for '{path}'");
                }

                Libc.CloseQuietly(writer); // before the rename: once at the path, no writable descriptor of it exists
                writer = -1;
                fixed (byte* t = temporary)
                fixed (byte* n = Libc.Utf8Z(fileName))
                {
                    if (Libc.RenameAt(directoryFd, t, directoryFd, n) != 0)
                    {
                        throw Error(Libc.LastErrno, $"cannot put the new PID file at '{path}'");
                    }
                }

                renamed = true;
                int locked = reader;
                reader = -1;
                return (locked, identity);
            }
            finally
            {
                Libc.CloseQuietly(writer);
                Libc.CloseQuietly(reader);
                if (!renamed)
                {
                    fixed (byte* t = temporary)
                    {
                        _ = Libc.UnlinkAt(directoryFd, t, 0);
                    }
                }
            }
        }
    }

    /// <summary>Is a daemon holding <paramref name="path"/>, and which pid? Never blocks (a FIFO at the path is refused, not opened for reading).</summary>
    public static PidFileStatus Inspect(string path) => Examine(Libc.AT_FDCWD, Libc.Utf8Z(path), path, forTakeOver: false);

    /// <summary>
    /// The status of the file at <paramref name="name"/>: <see cref="PidFileState.Unknown"/> when it
    /// cannot be opened (other than ENOENT), is not a regular file, or cannot be examined; with
    /// <paramref name="forTakeOver"/> also when it is not a plain file of ours (another owner, hard links).
    /// </summary>
    private static unsafe PidFileStatus Examine(int directoryFd, byte[] name, string path, bool forTakeOver)
    {
        int fd;
        FileIdentity identity;
        try
        {
            fd = OpenExisting(directoryFd, name, path, out identity);
            if (fd < 0)
            {
                return PidFileStatus.NotRunning($"PID file '{path}' does not exist");
            }

            if (forTakeOver)
            {
                CheckOwnPlainFile(fd, path, "PID file");
            }
        }
        catch (IOException e)
        {
            return PidFileStatus.Unknown(e.Message, e.HResult);
        }

        try
        {
            Libc.Flock query = new() { Type = Libc.F_WRLCK }; // conflicts with any lock: is there one at all?
            if (Libc.FcntlLock(fd, Libc.F_OFD_GETLK, &query) != 0)
            {
                int errno = Libc.LastErrno;
                return PidFileStatus.Unknown(Error(errno, $"cannot query the lock of PID file '{path}'").Message, errno);
            }

            byte* buffer = stackalloc byte[64];
            nint length = Libc.PRead(fd, buffer, 64, 0);
            if (length < 0)
            {
                int errno = Libc.LastErrno;
                return PidFileStatus.Unknown(Error(errno, $"cannot read PID file '{path}'").Message, errno);
            }

            int written = ParsePid(Encoding.ASCII.GetString(buffer, (int)length));
            if (query.Type == Libc.F_UNLCK)
            {
                return PidFileStatus.NotRunning(written > 0
                    ? $"PID file '{path}' is stale: no process holds its lock (it names pid {written})"
                    : $"PID file '{path}' is not locked by any process");
            }

            bool? writtenHolds = written > 0 ? PidFileHolder.HoldsLock(written, identity) : false;
            if (writtenHolds == true)
            {
                return PidFileStatus.RunningAt(written);
            }

            // The pid in the file does not hold it (or cannot be checked): look for who does. Having
            // the file open is not enough (tail -f, a concurrent --status), nor is a reader's lock.
            bool incomplete = writtenHolds is null;
            foreach (string entry in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(System.IO.Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid != written)
                {
                    bool? holds = PidFileHolder.HoldsLock(pid, identity);
                    if (holds == true)
                    {
                        return PidFileStatus.RunningAt(pid);
                    }

                    incomplete |= holds is null;
                }
            }

            if (writtenHolds is null && (Libc.Kill(written, 0) == 0 || Libc.LastErrno == Errno.EPERM))
            {
                return PidFileStatus.RunningAt(written); // its /proc/PID/fd is not readable for us: trust the file
            }

            return incomplete
                ? PidFileStatus.Unknown($"PID file '{path}' is locked, but no process holding it can be identified (some processes' descriptors cannot be read)", Errno.EACCES)
                : PidFileStatus.NotRunning(written > 0
                    ? $"PID file '{path}' is stale: only readers lock it, its daemon's lock is gone (it names pid {written})"
                    : $"PID file '{path}' is locked by readers only, not by a daemon");
        }
        finally
        {
            Libc.CloseQuietly(fd);
        }
    }

    /// <summary>
    /// Opens the existing file at <paramref name="name"/> read-only without blocking and without
    /// following a symbolic link (O_NONBLOCK: opening a FIFO for reading would wait for a writer),
    /// and refuses anything but a regular file (spec D-21). -1 when there is none (ENOENT).
    /// </summary>
    /// <exception cref="IOException">A symbolic link, not a regular file, or open(2) failed (HResult = errno).</exception>
    internal static unsafe int OpenExisting(int directoryFd, byte[] name, string path, out FileIdentity identity)
    {
        int fd;
        fixed (byte* n = name)
        {
            fd = Libc.OpenAt(directoryFd, n, Libc.O_RDONLY | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, 0);
        }

        if (fd < 0)
        {
            int errno = Libc.LastErrno;
            identity = default;
            return errno == Errno.ENOENT ? -1 : throw OpenError(errno, path, "PID file");
        }

        try
        {
            if (!Libc.TryStat(fd, null, out identity, out int errno))
            {
                throw Error(errno, $"cannot stat PID file '{path}'");
            }

            RefuseIrregular(identity, path, "PID file");
            int result = fd;
            fd = -1;
            return result;
        }
        finally
        {
            Libc.CloseQuietly(fd);
        }
    }

    /// <summary>A regular file owned by this process's effective uid with one link, or an IOException saying what it is instead.</summary>
    internal static FileIdentity CheckOwnPlainFile(int fd, string path, string what)
    {
        int errno = Libc.FStatx(fd, Libc.STATX_BASIC_STATS, out Libc.Statx st);
        if (errno != 0)
        {
            throw Error(errno, $"cannot stat {what} '{path}'");
        }

        FileIdentity identity = st.Identity;
        (uint owner, uint links) = (st.Uid, st.NLink);
        RefuseIrregular(identity, path, what);
        uint self = Libc.GetEUid();
        if (owner != self)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"{Capitalized(what)} '{path}' is owned by uid {owner}, not by this process's uid {self}: refusing to use it (remove it if it is stale)."));
        }

        if (links != 1)
        {
            throw new IOException(string.Create(CultureInfo.InvariantCulture,
                $"{Capitalized(what)} '{path}' has {links} hard links: refusing to use it (remove it if it is stale)."));
        }

        return identity;
    }

    private static void RefuseIrregular(FileIdentity identity, string path, string what)
    {
        string? kind = identity.FileType switch
        {
            Libc.S_IFREG => null,
            Libc.S_IFIFO => "a FIFO",
            Libc.S_IFDIR => "a directory",
            Libc.S_IFSOCK => "a socket",
            Libc.S_IFCHR => "a character device",
            Libc.S_IFBLK => "a block device",
            _ => "of an unknown type",
        };
        if (kind is not null)
        {
            throw new IOException($"{Capitalized(what)} '{path}' is not a regular file ({kind}): refusing to use it.") { HResult = Errno.EINVAL };
        }
    }

    internal static IOException OpenError(int errno, string path, string what) => errno == Errno.ELOOP
        ? new IOException($"{Capitalized(what)} '{path}' is a symbolic link: refusing to follow it.") { HResult = errno }
        : Error(errno, $"cannot open {what} '{path}'");

    private static string Capitalized(string what) => char.ToUpperInvariant(what[0]) + what[1..];

    private static unsafe int OpenDirectory(string path)
    {
        string directory = System.IO.Path.GetDirectoryName(path) ?? "/";
        int directoryFd;
        fixed (byte* d = Libc.Utf8Z(directory))
        {
            directoryFd = Libc.Open(d, Libc.O_PATH | Libc.O_DIRECTORY | Libc.O_CLOEXEC, 0);
        }

        return directoryFd >= 0 ? directoryFd : throw Error(Libc.LastErrno, $"cannot open the PID file's directory '{directory}'");
    }

    /// <summary>The pid in a PID file's text: decimal digits and an optional trailing newline; 0 when malformed.</summary>
    public static int ParsePid(string text)
    {
        ReadOnlySpan<char> span = text.AsSpan().TrimEnd('\n');
        return span.Length is > 0 and <= 10 && !span.ContainsAnyExceptInRange('0', '9')
            && int.TryParse(span, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : 0;
    }

    /// <summary>
    /// What a controller (typically root, e.g. <see cref="DaemonControl.Stop"/>) does after the
    /// daemon exited, as start-stop-daemon --remove-pidfile does: removes the file when it still
    /// names <paramref name="pid"/> and no daemon holds it, under <see cref="PidFileGuard"/> so that
    /// a starting daemon cannot put its file there in between. For a daemon that could not remove its
    /// own file (a privilege drop without write access to the directory, or a chroot). Best effort.
    /// </summary>
    public static unsafe bool RemoveStale(string path, int pid)
    {
        string fileName = System.IO.Path.GetFileName(path);
        byte[] name = Libc.Utf8Z(fileName);
        int directoryFd = -1;
        try
        {
            directoryFd = OpenDirectory(path);
            using PidFileGuard guard = PidFileGuard.Take(directoryFd, fileName, path);
            if (Examine(directoryFd, name, path, forTakeOver: false).State != PidFileState.NotRunning)
            {
                return false;
            }

            int fd = OpenExisting(directoryFd, name, path, out FileIdentity identity);
            if (fd < 0)
            {
                return false;
            }

            byte* buffer = stackalloc byte[64];
            nint length = Libc.PRead(fd, buffer, 64, 0);
            Libc.CloseQuietly(fd);
            if (length <= 0 || ParsePid(Encoding.ASCII.GetString(buffer, (int)length)) != pid
                || !StatAt(directoryFd, name, out FileIdentity linked) || !linked.SameFile(identity))
            {
                return false;
            }

            fixed (byte* n = name)
            {
                return Libc.UnlinkAt(directoryFd, n, 0) == 0;
            }
        }
        catch (IOException)
        {
            return false;
        }
        finally
        {
            Libc.CloseQuietly(directoryFd);
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

    internal static unsafe bool StatAt(int directoryFd, byte[] name, out FileIdentity identity)
    {
        fixed (byte* n = name)
        {
            bool ok = Libc.StatxRaw(directoryFd, n, Libc.AT_SYMLINK_NOFOLLOW, Libc.STATX_BASIC_STATS, out Libc.Statx buffer) == 0;
            identity = ok ? buffer.Identity : default;
            return ok;
        }
    }

    internal static IOException Error(int errno, string what) =>
        new(Errno.Describe(what, errno)) { HResult = errno };
}
