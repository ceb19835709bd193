namespace SdDaemon;

/// <summary>
/// Where the current process stands in classic double daemonization
/// (<see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>, SysV steps 5-8).
/// The program re-executes itself for each stage (the .NET runtime cannot continue after fork()),
/// so the same <c>Main</c> runs in all three; <see cref="Daemon.Stage"/> says which one this is.
/// </summary>
public enum DaemonStage
{
    /// <summary>The process the user (or init script, or service manager) started. With
    /// <see cref="Daemon.Start"/> it waits for the daemon's READY=1 and exits.</summary>
    Original = 0,

    /// <summary>The intermediate process: a new session's leader (setsid), which starts the daemon and exits.</summary>
    SessionLeader = 1,

    /// <summary>The daemon: in the new session but not its leader, so it can never acquire a controlling terminal.</summary>
    Daemon = 2,
}
