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

    /// <summary><c>FDSTORE</c>: the unit's FileDescriptorStoreMax=, set by systemd 254 and later when it is
    /// above 0 (unset: no fd store, or a manager older than 254 that does not say).</summary>
    public const string FdStore = "FDSTORE";

    /// <summary><c>WATCHDOG_USEC</c>: the watchdog timeout in microseconds (sd_watchdog_enabled(3)).</summary>
    public const string WatchdogUsec = "WATCHDOG_USEC";

    /// <summary><c>WATCHDOG_PID</c>: the pid that must send the keep-alive pings.</summary>
    public const string WatchdogPid = "WATCHDOG_PID";

    /// <summary><c>JOURNAL_STREAM</c>: <c>DEV:INO</c> of the stream connected to journald.</summary>
    public const string JournalStream = "JOURNAL_STREAM";

    /// <summary><c>CREDENTIALS_DIRECTORY</c>: where the unit's credentials are (systemd.exec(5), "Credentials").</summary>
    public const string CredentialsDirectory = "CREDENTIALS_DIRECTORY";

    /// <summary><c>RUNTIME_DIRECTORY</c>: the unit's RuntimeDirectory= paths, separated by <c>:</c>.</summary>
    public const string RuntimeDirectory = "RUNTIME_DIRECTORY";

    /// <summary><c>STATE_DIRECTORY</c>: the unit's StateDirectory= paths, separated by <c>:</c>.</summary>
    public const string StateDirectory = "STATE_DIRECTORY";

    /// <summary><c>CACHE_DIRECTORY</c>: the unit's CacheDirectory= paths, separated by <c>:</c>.</summary>
    public const string CacheDirectory = "CACHE_DIRECTORY";

    /// <summary><c>LOGS_DIRECTORY</c>: the unit's LogsDirectory= paths, separated by <c>:</c>.</summary>
    public const string LogsDirectory = "LOGS_DIRECTORY";

    /// <summary><c>CONFIGURATION_DIRECTORY</c>: the unit's ConfigurationDirectory= paths, separated by <c>:</c>.</summary>
    public const string ConfigurationDirectory = "CONFIGURATION_DIRECTORY";

    /// <summary><c>MEMORY_PRESSURE_WATCH</c>: the PSI file (or FIFO, socket) to watch (MemoryPressureWatch=, systemd 254).</summary>
    public const string MemoryPressureWatch = "MEMORY_PRESSURE_WATCH";

    /// <summary><c>MEMORY_PRESSURE_WRITE</c>: the base64 trigger text to write to it first.</summary>
    public const string MemoryPressureWrite = "MEMORY_PRESSURE_WRITE";
}
