using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Daemonization;
using SdDaemon.Interop;

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

    private static readonly Lazy<(DaemonStage Stage, StageMarker? Marker)> s_stage = new(Detect);

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
        switch (Stage)
        {
            case DaemonStage.Original:
                (int code, string? message) = Launch(options);
                if (message is not null)
                {
                    Console.Error.WriteLine($"{ProgramName()}: {message}");
                }

                Console.Out.Flush();
                Console.Error.Flush();
                System.Environment.Exit(code);
                throw new UnreachableException();
            case DaemonStage.SessionLeader:
                RunSessionLeader(options, s_stage.Value.Marker!);
                throw new UnreachableException();
            default:
                return SetUpDaemon(options, s_stage.Value.Marker!);
        }
    }

    // ---- the original process: steps 5 and 15 -------------------------------------------------

    internal static (int Code, string? Message) Launch(DaemonOptions options)
    {
        if (options.PidFile is { } pidFile)
        {
            PidFileStatus status = PidFile.Inspect(Path.GetFullPath(pidFile));
            if (status.Running)
            {
                return (FailureExitCode, new DaemonAlreadyRunningException(Path.GetFullPath(pidFile), status.Pid).Message);
            }
        }

        try
        {
            _ = Privileges.Resolve(options.User, options.Group); // an unknown user fails here, on the terminal
        }
        catch (ArgumentException e)
        {
            return (FailureExitCode, e.Message);
        }

        using ReadinessSocket socket = ReadinessSocket.Bind();
        Dictionary<string, string> environment = StageSpawner.CurrentEnvironment();
        environment[EnvironmentVariables.NotifySocket] = socket.Address;
        var kept = options.KeepFiles.Select(f => (int)f.DangerousGetHandle().ToInt64()).ToList();
        int leader;
        try
        {
            leader = StageSpawner.Spawn(DaemonStage.SessionLeader, kept, environment);
        }
        catch (IOException e)
        {
            return (FailureExitCode, "cannot start the session leader: " + e.Message);
        }

        return new StartWatcher(socket, leader, options.StartTimeout).Wait();
    }

    /// <summary>Follows the start: the session leader's MAINPID=, then the daemon's notifications and its life.</summary>
    private sealed unsafe class StartWatcher(ReadinessSocket socket, int leader, TimeSpan timeout)
    {
        private readonly List<(int Pid, IReadOnlyList<string> Lines)> _early = [];
        private int _daemon;
        private int _daemonPidFd = -1;
        private bool _leaderReaped;
        private int _leaderStatus = -1;
        private string? _status;
        private int _errno;
        private int? _exitStatus;
        private bool _ready;
        private long _deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

        public (int, string?) Wait()
        {
            try
            {
                Libc.PollFd* polls = stackalloc Libc.PollFd[2];
                while (true)
                {
                    polls[0] = new Libc.PollFd { Fd = socket.Fd, Events = Libc.POLLIN };
                    polls[1] = new Libc.PollFd { Fd = _daemonPidFd, Events = Libc.POLLIN };
                    long remaining = _deadline == long.MaxValue ? 100 : (_deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
                    _ = Libc.Poll(polls, _daemonPidFd >= 0 ? 2u : 1u, (int)Math.Clamp(remaining, 0, 100));
                    Drain();
                    if (_ready)
                    {
                        ReapLeader(block: true);
                        return (0, null);
                    }

                    if (_daemonPidFd >= 0 && (polls[1].REvents & Libc.POLLIN) != 0)
                    {
                        Drain(); // whatever the daemon sent before it exited is queued already
                        return _ready ? (0, null) : (FailureExitCode, Describe($"the daemon (pid {_daemon}) exited before READY=1"));
                    }

                    ReapLeader(block: false);
                    if (_leaderReaped && _daemon == 0)
                    {
                        Drain();
                        if (_daemon == 0)
                        {
                            return (FailureExitCode, Describe($"the session leader (pid {leader}) exited {ExitText(_leaderStatus)} without starting the daemon"));
                        }
                    }

                    if (Stopwatch.GetTimestamp() >= _deadline)
                    {
                        if (_daemonPidFd >= 0)
                        {
                            _ = Libc.PidFdSendSignal(_daemonPidFd, Libc.SIGTERM); // as a manager does on a start timeout
                        }

                        return (FailureExitCode, Describe($"no READY=1 from the daemon{(_daemon > 0 ? $" (pid {_daemon})" : "")} within the start timeout; it was sent SIGTERM"));
                    }
                }
            }
            finally
            {
                Libc.CloseQuietly(_daemonPidFd);
            }
        }

        private void Drain()
        {
            while (socket.TryReceive() is { } message)
            {
                if (message.Pid == leader && _daemon == 0)
                {
                    Handle(message.Lines);
                    if (ReadinessSocket.Get(message.Lines, "MAINPID") is { } text && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0)
                    {
                        _daemon = pid;
                        _daemonPidFd = Libc.PidFdOpen(pid, 0);
                        foreach ((int early, IReadOnlyList<string> lines) in _early)
                        {
                            if (early == pid)
                            {
                                Handle(lines);
                            }
                        }

                        _early.Clear();
                    }
                }
                else if (_daemon != 0 && message.Pid == _daemon)
                {
                    Handle(message.Lines);
                }
                else if (_daemon == 0)
                {
                    _early.Add(message); // the daemon was quicker than its parent's MAINPID=
                }

                // Otherwise another process (a child of the daemon): ignored, as NotifyAccess=main does.
            }
        }

        private void Handle(IReadOnlyList<string> lines)
        {
            if (lines.Contains("READY=1"))
            {
                _ready = true;
            }

            if (ReadinessSocket.Get(lines, "STATUS") is { } status)
            {
                _status = status;
            }

            if (ReadinessSocket.Get(lines, "ERRNO") is { } errno && int.TryParse(errno, NumberStyles.None, CultureInfo.InvariantCulture, out int e))
            {
                _errno = e;
            }

            if (ReadinessSocket.Get(lines, "EXIT_STATUS") is { } exit && int.TryParse(exit, NumberStyles.None, CultureInfo.InvariantCulture, out int x))
            {
                _exitStatus = x;
            }

            if (ReadinessSocket.Get(lines, "EXTEND_TIMEOUT_USEC") is { } extend && ulong.TryParse(extend, NumberStyles.None, CultureInfo.InvariantCulture, out ulong usec))
            {
                // As the manager does: the timeout now ends that long from now, never earlier than it was.
                long until = Stopwatch.GetTimestamp() + (long)Math.Min(usec / 1e6 * Stopwatch.Frequency, long.MaxValue / 2);
                _deadline = Math.Max(_deadline, until);
            }
        }

        private void ReapLeader(bool block)
        {
            if (_leaderReaped)
            {
                return;
            }

            int status;
            int result;
            do
            {
                result = Libc.WaitPid(leader, &status, block ? 0 : Libc.WNOHANG);
            }
            while (result < 0 && Libc.LastErrno == Errno.EINTR);
            if (result == leader || result < 0)
            {
                _leaderReaped = true;
                _leaderStatus = result == leader ? status : -1;
            }
        }

        private string Describe(string what)
        {
            var text = new StringBuilder(what);
            if (_status is not null)
            {
                text.Append(": ").Append(_status);
            }

            if (_errno != 0)
            {
                text.Append(CultureInfo.InvariantCulture, $" (errno {_errno}: {Marshal.GetPInvokeErrorMessage(_errno)})");
            }

            if (_exitStatus is { } exit)
            {
                text.Append(CultureInfo.InvariantCulture, $" [exit status {exit}]");
            }

            return text.ToString();
        }

        private static string ExitText(int status) =>
            status < 0 ? "" : (status & 0x7f) == 0 ? $"with status {(status >> 8) & 0xff}" : $"on signal {status & 0x7f}";
    }

    // ---- the session leader: steps 6-8 ----------------------------------------------------------

    private static void RunSessionLeader(DaemonOptions options, StageMarker marker)
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
        catch (IOException e)
        {
            _ = channel.Send(new Notification(NotifyState.Status(OneLine("cannot start the daemon: " + e.Message)), NotifyState.Errno(e.HResult is > 0 and < 4096 ? e.HResult : Errno.EIO)));
            System.Environment.Exit(FailureExitCode);
        }
    }

    // ---- the daemon: steps 1, 9-13 --------------------------------------------------------------

    private static DaemonContext SetUpDaemon(DaemonOptions options, StageMarker marker)
    {
        // Failures before READY=1 reach the original process as notifications.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            _ = TrySend(new Notification(NotifyState.Status(OneLine("unhandled exception: " + (e.ExceptionObject as Exception)?.GetType().Name + ": " + (e.ExceptionObject as Exception)?.Message)), NotifyState.Errno(Errno.EIO)));
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            _ = TrySend(new Notification(NotifyState.ExitStatus(System.Environment.ExitCode & 0xff)));

        var kept = new List<SafeFileHandle>();
        foreach (int fd in marker.KeptFds)
        {
            _ = Libc.Fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC); // every fd the library hands out is CLOEXEC
            kept.Add(new SafeFileHandle(fd, ownsHandle: true));
        }

        _ = Libc.Umask((uint)options.Umask);
        Privileges? privileges;
        try
        {
            privileges = Privileges.Resolve(options.User, options.Group);
        }
        catch (ArgumentException e)
        {
            throw Fail(Errno.EINVAL, e.Message);
        }

        PidFile? pidFile = null;
        if (options.PidFile is { } path)
        {
            try
            {
                pidFile = PidFile.Acquire(path, System.Environment.ProcessId);
            }
            catch (DaemonAlreadyRunningException e)
            {
                throw Fail(Errno.EAGAIN, e.Message);
            }
            catch (IOException e)
            {
                throw Fail(e.HResult is > 0 and < 4096 ? e.HResult : Errno.EIO, e.Message);
            }
        }

        var context = new DaemonContext(kept, RedirectOutput(options.Output), pidFile);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => context.Dispose();
        unsafe
        {
            if (options.RootDirectory is { } root)
            {
                PreloadAssemblies();
                fixed (byte* r = Libc.Utf8Z(root))
                {
                    if (Libc.Chroot(r) != 0)
                    {
                        throw Fail(Libc.LastErrno, $"chroot('{root}') failed");
                    }
                }
            }

            fixed (byte* d = Libc.Utf8Z(options.WorkingDirectory))
            {
                if (Libc.Chdir(d) != 0)
                {
                    throw Fail(Libc.LastErrno, $"chdir('{options.WorkingDirectory}') failed");
                }
            }
        }

        try
        {
            privileges?.Drop();
        }
        catch (UnauthorizedAccessException e)
        {
            throw Fail(Errno.EPERM, e.Message);
        }

        return context;
    }

    /// <summary>
    /// Under the JIT, assemblies load lazily from the runtime's directory, which a chroot makes
    /// unreachable: load everything the loaded assemblies reference, transitively, while it still
    /// is. (NativeAOT has nothing to load.) Files the program opens later must be inside the root.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2026:RequiresUnreferencedCode",
        Justification = "Preloading only: a reference the trimmer removed is not needed at run time either, and NativeAOT loads nothing.")]
    private static void PreloadAssemblies()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<System.Reflection.Assembly>(AppDomain.CurrentDomain.GetAssemblies());
        while (pending.TryDequeue(out System.Reflection.Assembly? assembly))
        {
            if (assembly.IsDynamic || !seen.Add(assembly.FullName ?? ""))
            {
                continue;
            }

            foreach (System.Reflection.AssemblyName name in assembly.GetReferencedAssemblies())
            {
                if (seen.Contains(name.FullName))
                {
                    continue;
                }

                try
                {
                    pending.Enqueue(System.Reflection.Assembly.Load(name));
                }
                catch (IOException)
                {
                    // Not present (an optional dependency): nothing to preload.
                }
                catch (BadImageFormatException)
                {
                }
            }
        }
    }

    private static unsafe Stream? RedirectOutput(DaemonOutput output)
    {
        if (output.Kind == DaemonOutputKind.Null)
        {
            return null; // the spawn already put /dev/null on 0, 1 and 2
        }

        Console.Out.Flush();
        Console.Error.Flush();
        int target;
        Stream? captured = null;
        if (output.Kind == DaemonOutputKind.AppendToFile)
        {
            fixed (byte* p = Libc.Utf8Z(output.Path!))
            {
                target = Libc.Open(p, Libc.O_WRONLY | Libc.O_APPEND | Libc.O_CREAT | Libc.O_NOCTTY | Libc.O_CLOEXEC, (uint)output.Mode);
            }

            if (target < 0)
            {
                throw Fail(Libc.LastErrno, $"cannot open log file '{output.Path}'");
            }
        }
        else
        {
            int* pipe = stackalloc int[2];
            if (Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
            {
                throw Fail(Libc.LastErrno, "cannot create the capture pipe");
            }

            target = pipe[1];
            captured = new FileStream(new SafeFileHandle(pipe[0], ownsHandle: true), FileAccess.Read, 1);
        }

        if (Libc.Dup2(target, 1) < 0 || Libc.Dup2(target, 2) < 0)
        {
            throw Fail(Libc.LastErrno, "cannot redirect stdout and stderr");
        }

        Libc.CloseQuietly(target);
        // Console's streams hold dups of the old fds 1 and 2 (/dev/null): make new ones on the new targets.
        Console.SetOut(new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true });
        Console.SetError(new StreamWriter(Console.OpenStandardError()) { AutoFlush = true });
        return captured;
    }

    /// <summary>Reports a set-up failure to the original process (STATUS=, ERRNO=) and exits.</summary>
    private static UnreachableException Fail(int errno, string message)
    {
        _ = TrySend(new Notification(NotifyState.Status(OneLine(message)), NotifyState.Errno(errno is > 0 and < 4096 ? errno : Errno.EIO)));
        System.Environment.Exit(FailureExitCode);
        return new UnreachableException();
    }

    private static NotifyResult TrySend(Notification notification)
    {
        try
        {
            return notification.Send();
        }
        catch (ArgumentException)
        {
            return default;
        }
    }

    private static string OneLine(string text)
    {
        string line = text.ReplaceLineEndings(" ").Replace('\\', '/');
        return line.Length > 1000 ? line[..1000] : line;
    }

    private static string ProgramName()
    {
        try
        {
            byte[][] argv = CommandLine.Current();
            string name = Path.GetFileName(Encoding.UTF8.GetString(argv[0]));
            return name is "dotnet" && argv.Length > 1 ? Path.GetFileNameWithoutExtension(Encoding.UTF8.GetString(argv[1])) : name;
        }
        catch (IOException)
        {
            return "daemon";
        }
        catch (FormatException)
        {
            return "daemon";
        }
    }

    // ---- stage detection ------------------------------------------------------------------------

    private static unsafe (DaemonStage, StageMarker?) Detect()
    {
        string? text = System.Environment.GetEnvironmentVariable(StageMarker.Variable);
        if (text is null)
        {
            return (DaemonStage.Original, null);
        }

        // Never passed on: not to the daemon's children, not through a forged value.
        System.Environment.SetEnvironmentVariable(StageMarker.Variable, null);
        fixed (byte* name = Libc.Utf8Z(StageMarker.Variable))
        {
            _ = Libc.UnsetEnv(name);
        }

        StageMarker? marker = StageMarker.Parse(text);
        if (marker is null || !Libc.TryStat(marker.Fd, null, out FileIdentity identity, out _) || (identity.Mode & Libc.S_IFMT) != Libc.S_IFIFO)
        {
            return (DaemonStage.Original, null);
        }

        int flags = Libc.Fcntl(marker.Fd, Libc.F_GETFL, 0);
        if (flags < 0 || Libc.Fcntl(marker.Fd, Libc.F_SETFL, flags | Libc.O_NONBLOCK) != 0)
        {
            return (DaemonStage.Original, null);
        }

        // The whole content must be the token, and the writer must be gone (EOF, not EAGAIN).
        byte* buffer = stackalloc byte[StageMarker.TokenLength + 1];
        int length = 0;
        while (true)
        {
            nint n = Libc.Read(marker.Fd, buffer + length, (nuint)(StageMarker.TokenLength + 1 - length));
            if (n > 0)
            {
                length += (int)n;
                if (length > StageMarker.TokenLength)
                {
                    return (DaemonStage.Original, null);
                }

                continue;
            }

            if (n < 0 && Libc.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (n < 0)
            {
                return (DaemonStage.Original, null);
            }

            break;
        }

        if (length != StageMarker.TokenLength || Encoding.ASCII.GetString(buffer, length) != marker.Token)
        {
            return (DaemonStage.Original, null);
        }

        Libc.CloseQuietly(marker.Fd);
        // POSIX_SPAWN_SETSID made the session leader; the daemon must not be one.
        int sid = Libc.GetSid(0);
        bool leader = sid == System.Environment.ProcessId;
        if ((marker.Stage == DaemonStage.SessionLeader) != leader)
        {
            // A genuine marker (the token matched) in the wrong kind of process: never fall back to
            // acting as the original, which would start yet another chain of stages.
            _ = TrySend(new Notification(NotifyState.Status(OneLine($"stage {marker.Stage} check failed: session id {sid}, pid {System.Environment.ProcessId}")), NotifyState.Errno(Errno.EPROTO)));
            System.Environment.Exit(FailureExitCode);
        }

        return (marker.Stage, marker);
    }
}
