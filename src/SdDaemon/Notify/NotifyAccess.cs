namespace SdDaemon;

/// <summary>Who may send notifications for the unit (<c>NOTIFYACCESS=</c>, systemd 254; systemd.service(5) NotifyAccess=).</summary>
public enum NotifyAccess
{
    /// <summary><c>none</c>: all notifications are ignored.</summary>
    None,

    /// <summary><c>main</c>: only the main process.</summary>
    Main,

    /// <summary><c>exec</c>: the main process and the processes of ExecStartPre= and the like.</summary>
    Exec,

    /// <summary><c>all</c>: every process of the unit's cgroup.</summary>
    All,
}
