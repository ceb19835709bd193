namespace SdDaemon.Logging;

/// <summary>
/// The eight syslog priorities journald understands, as the <c>&lt;N&gt;</c> prefix of a stderr line
/// (<see href="https://www.freedesktop.org/software/systemd/man/sd-daemon.html">sd-daemon(3)</see>) and as
/// the <c>PRIORITY=</c> field of a native entry
/// (<see href="https://www.freedesktop.org/software/systemd/man/sd_journal_print.html">sd_journal_print(3)</see>).
/// The names are those of syslog(3)'s <c>LOG_EMERG</c> .. <c>LOG_DEBUG</c>.
/// </summary>
public enum SyslogPriority
{
    /// <summary>0, <c>LOG_EMERG</c>: the system is unusable.</summary>
    Emerg = 0,

    /// <summary>1, <c>LOG_ALERT</c>: action must be taken immediately.</summary>
    Alert = 1,

    /// <summary>2, <c>LOG_CRIT</c>: critical conditions.</summary>
    Crit = 2,

    /// <summary>3, <c>LOG_ERR</c>: error conditions.</summary>
    Err = 3,

    /// <summary>4, <c>LOG_WARNING</c>: warning conditions.</summary>
    Warning = 4,

    /// <summary>5, <c>LOG_NOTICE</c>: normal but significant condition.</summary>
    Notice = 5,

    /// <summary>6, <c>LOG_INFO</c>: informational.</summary>
    Info = 6,

    /// <summary>7, <c>LOG_DEBUG</c>: debug-level messages.</summary>
    Debug = 7,
}
