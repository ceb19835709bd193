using System.Diagnostics;
using System.Runtime.Versioning;
using SdDaemon.Daemonization;

namespace SdDaemon;

/// <summary>
/// Classic SysV double daemonization, all fifteen steps of
/// <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>, for
/// programs started by hand, by init scripts, by cron or by a manager with Type=forking.
/// New-style daemons under systemd need none of this (daemon(7) says so): use it as an option.
/// </summary>
/// <remarks>
/// <para>The .NET runtime cannot continue managed code after fork() (spec D-16), so the program
/// re-executes itself, with its exact command line, through three stages (<see cref="Stage"/>):
/// the original process; a session leader (posix_spawn with POSIX_SPAWN_SETSID); the daemon,
/// started by the session leader, which then exits, so that the daemon is not a session leader and
/// can never acquire a controlling terminal. Everything before <see cref="Start"/> in <c>Main</c>
/// runs in every stage: call it early, before opening what the daemon should open itself.</para>
/// <para>Readiness uses the notify protocol itself: the original process binds a private notify
/// socket and gives its address to the daemon as NOTIFY_SOCKET, so <c>Notification.Ready.Send()</c>
/// works the same under systemd and here. The original exits 0 on READY=1; it exits 1, with the
/// reason on stderr, when the daemon exits first (with its STATUS=, ERRNO= and exit status), or
/// when <see cref="DaemonOptions.StartTimeout"/> (extended by EXTEND_TIMEOUT_USEC=) passes.</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public static class Daemon
{
    /// <summary>The exit status of the original process when the daemon did not get ready (LSB: generic failure).</summary>
    public const int FailureExitCode = 1;

    private static readonly Lazy<(DaemonStage Stage, StageMarker? Marker)> s_stage = new(StageDetection.Detect);

    /// <summary>
    /// Which stage this process is. Decided once, from the stage marker: an environment variable
    /// AND an inherited pipe holding a random token, so that a variable set by hand is ignored
    /// (and then removed from the environment). The marker is never passed on to the daemon's children.
    /// </summary>
    public static DaemonStage Stage => s_stage.Value.Stage;

    /// <summary>
    /// Daemonizes. In the original process and in the session leader this never returns: the
    /// original exits when the daemon is ready (0) or failed (<see cref="FailureExitCode"/>, reason on
    /// stderr), the session leader once it has started the daemon. In the daemon it applies
    /// <paramref name="options"/> and returns; send READY=1 (<see cref="Notification.Ready"/>) when
    /// initialization is complete, which lets the original exit.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid <paramref name="options"/> (in every stage, before anything happens).</exception>
    public static DaemonContext Start(DaemonOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // One file a stage: Launcher (the original process), SessionLeader, DaemonSetUp; StageDetection tells which.
        switch (Stage)
        {
            case DaemonStage.Original:
                Launcher.Run(options);
                throw new UnreachableException();
            case DaemonStage.SessionLeader:
                SessionLeader.Run(options, s_stage.Value.Marker!);
                throw new UnreachableException();
            default:
                return DaemonSetUp.Run(options, s_stage.Value.Marker!);
        }
    }
}
