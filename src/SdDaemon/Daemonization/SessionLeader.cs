using System.Runtime.Versioning;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// The session leader (daemon(7) steps 6-8): started with POSIX_SPAWN_SETSID, it starts the daemon,
/// reports its pid as MAINPID= and exits, so that the daemon is not a session leader and can never
/// acquire a controlling terminal.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class SessionLeader
{
    public static void Run(DaemonOptions options, StageMarker marker)
    {
        string? notify = System.Environment.GetEnvironmentVariable(EnvironmentVariables.NotifySocket);
        using NotifyChannel channel = NotifyChannel.Create(notify ?? "");
        try
        {
            Dictionary<string, string> environment = StageSpawner.CurrentEnvironment();
            if (options.SanitizeEnvironment)
            {
                environment = StageSpawner.Sanitize(environment, options.KeepEnvironment);
            }

            int daemon = StageSpawner.Spawn(DaemonStage.Daemon, marker.KeptFds, environment);
            _ = channel.Send(new Notification(NotifyState.MainPid(daemon)));
            System.Environment.Exit(0);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Every failure (not only I/O: a command line that cannot be reproduced, an unreadable
            // /proc/self/fd) reaches the original process as STATUS= and ERRNO=.
            _ = channel.Send(StageFailure.Describe(e is IOException ? e.HResult : Errno.EIO, $"cannot start the daemon: {e.Message} ({e.GetType().Name})"));
            System.Environment.Exit(Daemon.FailureExitCode);
        }
    }
}
