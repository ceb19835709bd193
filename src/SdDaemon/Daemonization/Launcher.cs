using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// The original process (daemon(7) steps 5 and 15): checks what can be checked on the terminal,
/// starts the session leader with a private notify socket, and exits as the start ends
/// (<see cref="StartWatcher"/>): 0 on READY=1, <see cref="Daemon.FailureExitCode"/> with the reason on stderr.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class Launcher
{
    public static void Run(DaemonOptions options)
    {
        int code;
        string? message;
        try
        {
            (code, message) = Launch(options);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Every failure reaches the terminal as a message (a command line that cannot be
            // reproduced, an unreadable /proc/self/fd, no socket...), never as a crash.
            (code, message) = (Daemon.FailureExitCode, DescribeStartFailure(e));
        }

        if (message is not null)
        {
            WriteToStderr($"{CommandLine.ProgramName()}: {message}\n");
        }

        FlushConsole();
        System.Environment.Exit(code);
    }

    private static (int Code, string? Message) Launch(DaemonOptions options)
    {
        if (options.PidFile is { } pidFile)
        {
            PidFileStatus status = PidFile.Inspect(Path.GetFullPath(pidFile));
            if (status.State != PidFileState.NotRunning)
            {
                // Running, or it cannot be told (a FIFO, an unreadable file...): the daemon could not take it over either.
                return (Daemon.FailureExitCode, status.Running ? new DaemonAlreadyRunningException(Path.GetFullPath(pidFile), status.Pid).Message : status.Message);
            }
        }

        try
        {
            _ = Privileges.Resolve(options.User, options.Group); // an unknown user fails here, on the terminal
        }
        catch (ArgumentException e)
        {
            return (Daemon.FailureExitCode, e.Message);
        }

        // A child subreaper: when the session leader exits, the daemon is re-parented to this
        // process (not to init), so it is our child until we exit: waitpid() gives its exact exit
        // status, and its pid cannot be reused while we have not reaped it.
        bool subreaper = Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
        using ReadinessSocket socket = ReadinessSocket.Bind();
        Dictionary<string, string> environment = StageSpawner.CurrentEnvironment();
        environment[EnvironmentVariables.NotifySocket] = socket.Address;
        var kept = options.KeepFiles.Select(f => (int)f.DangerousGetHandle().ToInt64()).ToList();
        int leader = StageSpawner.Spawn(DaemonStage.SessionLeader, kept, environment);
        return new StartWatcher(socket, leader, options.StartTimeout, subreaper).Wait();
    }

    /// <summary>
    /// The launcher's message for a failure. Without a free descriptor everything fails in its own
    /// way (an assembly that cannot be loaded says FileNotFoundException, a socket says EMFILE):
    /// then say that, which is what the user can act on.
    /// </summary>
    private static string DescribeStartFailure(Exception e)
    {
        int probe = Libc.Fcntl(2, Libc.F_DUPFD_CLOEXEC, 0);
        if (probe < 0 && Libc.LastErrno == Errno.EMFILE)
        {
            return $"cannot start the daemon: this process has no free file descriptor ({Errno.Describe(Errno.EMFILE)}; see RLIMIT_NOFILE, ulimit -n)";
        }

        Libc.CloseQuietly(probe);
        return $"cannot start the daemon: {e.Message} ({e.GetType().Name})";
    }

    /// <summary>
    /// The launcher's message goes straight to descriptor 2: System.Console may not be loaded yet,
    /// and loading it needs a free descriptor, which is exactly what may be missing. Best effort.
    /// </summary>
    private static void WriteToStderr(string text) => _ = Libc.WriteAll(2, Encoding.UTF8.GetBytes(text));

    /// <summary>What the program wrote before Daemon.Start reaches its output before the exit; nothing to do (and nothing to load) if it never used the console.</summary>
    private static void FlushConsole()
    {
        try
        {
            Console.Out.Flush();
            Console.Error.Flush();
        }
        catch (Exception e) when (e is IOException or BadImageFormatException) // FileNotFoundException: System.Console cannot be loaded
        {
        }
    }
}
