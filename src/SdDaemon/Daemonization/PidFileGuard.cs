using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// Serializes everything that replaces or removes a PID file (a starting daemon, a controller
/// removing a stale file): an OFD write lock on <c>.NAME.lock</c>, mode 0600, next to the PID file.
/// </summary>
/// <remarks>
/// Why a second file: the PID file is world-readable (0644), so any local user can take a shared
/// lock on it, and a shared lock blocks every exclusive one. Exclusion among starters cannot rest
/// on a lock that anyone may block; this file only its owner (or root) can open, so only its own
/// kind can hold the lock (spec D-19). It is held for milliseconds and removed by its holder
/// while still locked; whoever locked an inode that was removed meanwhile sees that the name no
/// longer leads to it and tries again (the same check the PID file itself gets).
/// </remarks>
internal sealed unsafe class PidFileGuard : IDisposable
{
    private const uint Mode = 0x180; // 0600
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly int _directoryFd;
    private readonly byte[] _name;
    private int _fd;

    private PidFileGuard(int directoryFd, byte[] name, int fd)
    {
        _directoryFd = directoryFd;
        _name = name;
        _fd = fd;
    }

    /// <summary>Takes the guard of PID file <paramref name="pidFileName"/> in <paramref name="directoryFd"/>, waiting up to 5 s for another holder.</summary>
    /// <exception cref="IOException">The guard file cannot be used, or another start or stop holds it for too long.</exception>
    public static PidFileGuard Take(int directoryFd, string pidFileName, string pidFilePath)
    {
        byte[] name = Libc.Utf8Z("." + pidFileName + ".lock");
        string path = pidFilePath[..(pidFilePath.Length - pidFileName.Length)] + "." + pidFileName + ".lock";
        long deadline = Deadline.After(Patience);
        while (true)
        {
            int fd;
            fixed (byte* n = name)
            {
                fd = Libc.OpenAt(directoryFd, n, Libc.O_RDWR | Libc.O_CREAT | Libc.O_NOFOLLOW | Libc.O_CLOEXEC | Libc.O_NOCTTY | Libc.O_NONBLOCK, Mode);
            }

            if (fd < 0)
            {
                throw PidFile.OpenError(Libc.LastErrno, path, "lock file");
            }

            try
            {
                FileIdentity identity = PidFile.CheckOwnPlainFile(fd, path, "lock file");
                Libc.Flock request = new() { Type = Libc.F_WRLCK };
                if (Libc.FcntlLock(fd, Libc.F_OFD_SETLK, &request) == 0)
                {
                    if (PidFile.StatAt(directoryFd, name, out FileIdentity linked) && linked.SameFile(identity))
                    {
                        var guard = new PidFileGuard(directoryFd, name, fd);
                        fd = -1;
                        return guard;
                    }

                    continue; // its previous holder removed it after we opened it: take the one at the name now
                }

                int errno = Libc.LastErrno;
                if (errno is not (Errno.EAGAIN or Errno.EACCES))
                {
                    throw PidFile.Error(errno, $"cannot lock '{path}'");
                }

                if (Deadline.RemainingMilliseconds(deadline) == 0)
                {
                    throw new IOException($"'{path}' stays locked: another start or stop of this daemon is in progress (or hangs).");
                }
            }
            finally
            {
                Libc.CloseQuietly(fd);
            }

            Thread.Sleep(10);
        }
    }

    /// <summary>Removes the guard file (still locked, so that nobody is left holding a lock on a removed file unawares) and releases it.</summary>
    public void Dispose()
    {
        if (_fd < 0)
        {
            return;
        }

        fixed (byte* n = _name)
        {
            _ = Libc.UnlinkAt(_directoryFd, n, 0);
        }

        Libc.CloseQuietly(_fd);
        _fd = -1;
    }
}
