using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using SdDaemon.Daemonization;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Controls a running classic daemon through its PID file, as go-daemon's commands do: the daemon
/// is the process holding the file's lock, not merely the number written in it (a stale file names
/// a pid that may belong to anyone now). See
/// <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>: SIGTERM
/// stops a daemon, SIGHUP makes it reload.
/// </summary>
[SupportedOSPlatform("linux")]
public static class DaemonControl
{
    /// <summary>
    /// The pid of the daemon holding <paramref name="pidFile"/>'s lock; false (with <paramref name="reason"/>)
    /// when none does: no file, or a stale one (LSB status 3). Never blocks: a FIFO or any other
    /// file that is not a regular file at the path is refused, not opened for reading.
    /// </summary>
    /// <exception cref="IOException">
    /// Whether a daemon runs cannot be told (LSB status 4, "unknown"): the file cannot be opened
    /// (EACCES, EMFILE...: <see cref="Exception.HResult"/> is the errno), is a symbolic link or not a
    /// regular file, or its lock holder cannot be identified.
    /// </exception>
    public static bool TryFindRunning(string pidFile, out int pid, out string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(pidFile);
        PidFileStatus status = PidFile.Inspect(Path.GetFullPath(pidFile));
        if (status.State == PidFileState.Unknown)
        {
            throw new IOException($"cannot tell whether a daemon runs: {status.Message}") { HResult = status.Errno };
        }

        pid = status.Pid;
        reason = status.Message;
        return status.Running;
    }

    /// <summary>The pid of the daemon holding <paramref name="pidFile"/>'s lock.</summary>
    /// <exception cref="DaemonNotRunningException">No process holds it; the message says why (no file, stale file...).</exception>
    /// <exception cref="IOException">Whether a daemon runs cannot be told (see <see cref="TryFindRunning"/>).</exception>
    public static int FindRunning(string pidFile) =>
        TryFindRunning(pidFile, out int pid, out string reason) ? pid : throw new DaemonNotRunningException($"not running: {reason}");

    /// <summary>
    /// Sends <paramref name="signal"/> to the daemon holding <paramref name="pidFile"/>, through a
    /// pidfd so that a pid recycled in between is never hit; returns its pid.
    /// </summary>
    /// <exception cref="DaemonNotRunningException">No daemon holds the file.</exception>
    /// <exception cref="IOException">Whether a daemon runs cannot be told (see <see cref="TryFindRunning"/>).</exception>
    /// <exception cref="UnauthorizedAccessException">Not allowed to signal it.</exception>
    public static int Signal(string pidFile, PosixSignal signal)
    {
        int number = ToNumber(signal);
        int pid = FindRunning(pidFile);
        int pidFd = Libc.PidFdOpen(pid, 0);
        if (pidFd < 0)
        {
            int errno = Libc.LastErrno;
            if (errno == Errno.ESRCH)
            {
                throw new DaemonNotRunningException($"not running: pid {pid} exited");
            }

            return SendWithKill(pid, number); // a kernel before 5.3
        }

        try
        {
            // The pid is pinned now: check that it is still the holder, then signal that very process.
            if (!TryFindRunning(pidFile, out int again, out string reason) || again != pid)
            {
                throw new DaemonNotRunningException($"not running: {reason}");
            }

            if (Libc.PidFdSendSignal(pidFd, number) != 0)
            {
                int errno = Libc.LastErrno;
                throw errno == Errno.EPERM
                    ? new UnauthorizedAccessException($"not allowed to signal pid {pid}")
                    : new DaemonNotRunningException($"not running: {Errno.Describe($"signalling pid {pid} failed", errno)}");
            }

            return pid;
        }
        finally
        {
            Libc.CloseQuietly(pidFd);
        }
    }

    /// <summary>
    /// SIGTERM, then waits up to <paramref name="timeout"/> for the lock to be released (the daemon gone); returns the pid.
    /// Then removes the PID file if the daemon could not (it is unlocked and still names that pid), as start-stop-daemon --remove-pidfile does.
    /// </summary>
    /// <exception cref="DaemonNotRunningException">No daemon holds the file.</exception>
    /// <exception cref="IOException">Whether a daemon runs cannot be told (see <see cref="TryFindRunning"/>).</exception>
    /// <exception cref="TimeoutException">It still runs after <paramref name="timeout"/>.</exception>
    public static int Stop(string pidFile, TimeSpan timeout)
    {
        int pid = Signal(pidFile, PosixSignal.SIGTERM);
        var stopwatch = Stopwatch.StartNew();
        while (TryFindRunning(pidFile, out int holder, out _) && holder == pid)
        {
            if (stopwatch.Elapsed >= timeout)
            {
                throw new TimeoutException($"pid {pid} still runs {timeout.TotalSeconds:0.#} s after SIGTERM");
            }

            Thread.Sleep(20);
        }

        // A daemon that dropped privileges (or is in a chroot) may not have been able to remove its
        // own file: remove it now if it is stale and still names that pid (start-stop-daemon
        // --remove-pidfile does the same). Best effort: a file we may not remove stays, unlocked.
        _ = PidFile.RemoveStale(Path.GetFullPath(pidFile), pid);
        return pid;
    }

    /// <summary>SIGHUP: asks the daemon to reload its configuration; returns its pid.</summary>
    /// <exception cref="DaemonNotRunningException">No daemon holds the file.</exception>
    /// <exception cref="IOException">Whether a daemon runs cannot be told (see <see cref="TryFindRunning"/>).</exception>
    public static int Reload(string pidFile) => Signal(pidFile, PosixSignal.SIGHUP);

    internal static int ToNumber(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        PosixSignal.SIGTERM => 15,
        PosixSignal.SIGCHLD => 17,
        PosixSignal.SIGCONT => 18,
        PosixSignal.SIGTSTP => 20,
        PosixSignal.SIGTTIN => 21,
        PosixSignal.SIGTTOU => 22,
        PosixSignal.SIGWINCH => 28,
        _ when (int)signal is > 0 and < 65 => (int)signal, // a raw Linux signal number
        _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "not a signal"),
    };

    private static int SendWithKill(int pid, int number)
    {
        if (Libc.Kill(pid, number) != 0)
        {
            throw Libc.LastErrno == Errno.EPERM
                ? new UnauthorizedAccessException($"not allowed to signal pid {pid}")
                : new DaemonNotRunningException($"not running: pid {pid} is gone");
        }

        return pid;
    }
}
