namespace SdDaemon.DBus;

/// <summary>What an inhibitor lock delays or blocks (org.freedesktop.login1(5), Inhibit's "what";
/// see <see href="https://systemd.io/INHIBITOR_LOCKS/">Inhibitor Locks</see>).</summary>
[Flags]
public enum InhibitWhat
{
    /// <summary>shutdown: power-off and reboot.</summary>
    Shutdown = 1,

    /// <summary>sleep: suspend and hibernate.</summary>
    Sleep = 2,

    /// <summary>idle: the automatic idle action.</summary>
    Idle = 4,

    /// <summary>handle-power-key: logind's handling of the power key.</summary>
    HandlePowerKey = 8,

    /// <summary>handle-suspend-key.</summary>
    HandleSuspendKey = 16,

    /// <summary>handle-hibernate-key.</summary>
    HandleHibernateKey = 32,

    /// <summary>handle-lid-switch.</summary>
    HandleLidSwitch = 64,
}

/// <summary>Whether a lock blocks the operation or only delays it (up to InhibitDelayMaxSec=).</summary>
public enum InhibitMode
{
    /// <summary>block: the operation is refused while the lock is held (privileged users may override).</summary>
    Block,

    /// <summary>delay: the operation waits until the lock is released, at most InhibitDelayMaxSec= (logind.conf(5)).</summary>
    Delay,
}
