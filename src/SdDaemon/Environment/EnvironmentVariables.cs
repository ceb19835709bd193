namespace SdDaemon;

/// <summary>
/// The names of the environment variables systemd's service manager sets for a service
/// (see <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Environment%20Variables%20Set%20or%20Propagated%20by%20the%20Service%20Manager">systemd.exec(5)</see>).
/// </summary>
public static class EnvironmentVariables
{
    /// <summary><c>NOTIFY_SOCKET</c>: where <see cref="Notification"/>s go (sd_notify(3)).</summary>
    public const string NotifySocket = "NOTIFY_SOCKET";

    /// <summary><c>LISTEN_PID</c>: the pid the passed descriptors are meant for (sd_listen_fds(3)).</summary>
    public const string ListenPid = "LISTEN_PID";

    /// <summary><c>LISTEN_PIDFDID</c>: the pidfd inode id of that process (systemd 259).</summary>
    public const string ListenPidFdId = "LISTEN_PIDFDID";

    /// <summary><c>LISTEN_FDS</c>: how many descriptors were passed, from fd 3 on.</summary>
    public const string ListenFds = "LISTEN_FDS";

    /// <summary><c>LISTEN_FDNAMES</c>: their names, separated by <c>:</c>.</summary>
    public const string ListenFdNames = "LISTEN_FDNAMES";

    /// <summary><c>WATCHDOG_USEC</c>: the watchdog timeout in microseconds (sd_watchdog_enabled(3)).</summary>
    public const string WatchdogUsec = "WATCHDOG_USEC";

    /// <summary><c>WATCHDOG_PID</c>: the pid that must send the keep-alive pings.</summary>
    public const string WatchdogPid = "WATCHDOG_PID";

    /// <summary><c>JOURNAL_STREAM</c>: <c>DEV:INO</c> of the stream connected to journald.</summary>
    public const string JournalStream = "JOURNAL_STREAM";
}
