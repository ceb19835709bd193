using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Daemonization;
using SdDaemon.Environ;
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
                int code;
                string? message;
                try
                {
                    (code, message) = Launch(options);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    (code, message) = (FailureExitCode, DescribeStartFailure(e));
                }

                if (message is not null)
                {
                    WriteToStderr($"{ProgramName()}: {message}\n");
                }

                FlushConsole();
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
            if (status.State != PidFileState.NotRunning)
            {
                // Running, or it cannot be told (a FIFO, an unreadable file...): the daemon could not take it over either.
                return (FailureExitCode, status.Running ? new DaemonAlreadyRunningException(Path.GetFullPath(pidFile), status.Pid).Message : status.Message);
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

        // A child subreaper: when the session leader exits, the daemon is re-parented to this
        // process (not to init), so it is our child until we exit: waitpid() gives its exact exit
        // status, and its pid cannot be reused while we have not reaped it.
        bool subreaper = Libc.Prctl(Libc.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
        try
        {
            using ReadinessSocket socket = ReadinessSocket.Bind();
            Dictionary<string, string> environment = StageSpawner.CurrentEnvironment();
            environment[EnvironmentVariables.NotifySocket] = socket.Address;
            var kept = options.KeepFiles.Select(f => (int)f.DangerousGetHandle().ToInt64()).ToList();
            int leader = StageSpawner.Spawn(DaemonStage.SessionLeader, kept, environment);
            return new StartWatcher(socket, leader, options.StartTimeout, subreaper).Wait();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Every failure reaches the terminal as a message (a command line that cannot be
            // reproduced, an unreadable /proc/self/fd, no socket...), never as a crash.
            return (FailureExitCode, DescribeStartFailure(e));
        }
    }

    /// <summary>
    /// The launcher's message for a failure. Without a free descriptor everything fails in its own
    /// way (an assembly that cannot be loaded says FileNotFoundException, a socket says EMFILE):
    /// then say that, which is what the user can act on.
    /// </summary>
    private static string DescribeStartFailure(Exception e)
    {
        int probe = Libc.Fcntl(2, Libc.F_DUPFD_CLOEXEC, 0);
        if (probe < 0 && Libc.LastErrno == Libc.EMFILE)
        {
            return $"cannot start the daemon: this process has no free file descriptor (errno {Libc.EMFILE}: {Marshal.GetPInvokeErrorMessage(Libc.EMFILE)}; see RLIMIT_NOFILE, ulimit -n)";
        }

        Libc.CloseQuietly(probe);
        return $"cannot start the daemon: {e.Message} ({e.GetType().Name})";
    }

    /// <summary>
    /// The launcher's message goes straight to descriptor 2: System.Console may not be loaded yet,
    /// and loading it needs a free descriptor, which is exactly what may be missing. Best effort.
    /// </summary>
    private static unsafe void WriteToStderr(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* b = bytes)
        {
            for (int done = 0; done < bytes.Length;)
            {
                nint n = Libc.Write(2, b + done, (nuint)(bytes.Length - done));
                if (n <= 0 && !(n < 0 && Libc.LastErrno == Errno.EINTR))
                {
                    return;
                }

                done += (int)Math.Max(n, 0);
            }
        }
    }

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

    /// <summary>Follows the start: the session leader's MAINPID=, then the daemon's notifications and its life.</summary>
    private sealed unsafe class StartWatcher(ReadinessSocket socket, int leader, TimeSpan timeout, bool subreaper)
    {
        private readonly List<(int Pid, IReadOnlyList<string> Lines)> _early = [];
        private int _daemon;
        private int _daemonPidFd = -1;
        private bool _daemonIsChild;
        private int? _daemonWaitStatus;
        private bool _leaderReaped;
        private int _leaderStatus = -1;
        private string? _status;
        private int _errno;
        private int? _exitStatus;
        private bool _ready;
        private string? _watchFailure;
        private long _deadline = Deadline.After(timeout);

        public (int, string?) Wait()
        {
            try
            {
                Libc.PollFd* polls = stackalloc Libc.PollFd[2];
                while (true)
                {
                    polls[0] = new Libc.PollFd { Fd = socket.Fd, Events = Libc.POLLIN };
                    polls[1] = new Libc.PollFd { Fd = _daemonPidFd, Events = Libc.POLLIN };
                    // At most 100 ms: the session leader's exit and (as its orphan) the daemon's are also polled by waitpid.
                    int remaining = Deadline.RemainingMilliseconds(_deadline);
                    _ = Libc.Poll(polls, _daemonPidFd >= 0 ? 2u : 1u, remaining < 0 ? 100 : Math.Min(remaining, 100));
                    Drain();
                    if (_ready)
                    {
                        ReapLeader(block: true);
                        return (0, null);
                    }

                    ReapLeader(block: false);
                    WatchDaemon();
                    if (_watchFailure is not null)
                    {
                        return (FailureExitCode, Describe(_watchFailure));
                    }

                    if (DaemonExited())
                    {
                        Drain(); // whatever the daemon sent before it exited is queued already
                        return _ready ? (0, null) : (FailureExitCode, Describe($"the daemon (pid {_daemon}) exited before READY=1", withWaitStatus: true));
                    }

                    if (_leaderReaped && _daemon == 0)
                    {
                        Drain();
                        if (_daemon == 0 && subreaper && FindOrphanedDaemon() is > 0 and int orphan)
                        {
                            Adopt(orphan);
                            continue;
                        }

                        if (_daemon == 0)
                        {
                            return (FailureExitCode, Describe($"the session leader (pid {leader}) exited {ExitText(_leaderStatus)} without starting the daemon"));
                        }

                        continue;
                    }

                    if (Stopwatch.GetTimestamp() >= _deadline)
                    {
                        bool signalled = _daemonPidFd >= 0 ? Libc.PidFdSendSignal(_daemonPidFd, Libc.SIGTERM) == 0
                            : _daemonIsChild && Libc.Kill(_daemon, Libc.SIGTERM) == 0; // our unreaped child: the pid cannot be reused
                        return (FailureExitCode, Describe($"no READY=1 from the daemon{(_daemon > 0 ? $" (pid {_daemon})" : "")} within the start timeout{(signalled ? "; it was sent SIGTERM" : "")}"));
                    }
                }
            }
            finally
            {
                Libc.CloseQuietly(_daemonPidFd);
            }
        }

        /// <summary>
        /// Gets hold of the daemon once its pid is known, without a pid-reuse race. As a subreaper:
        /// once the session leader is reaped, the daemon is our child (a zombie until we reap it), so
        /// waitpid() and pidfd_open() address exactly it. Without a subreaper: a pidfd at once,
        /// every failure of which is handled (ESRCH: it exited and was reaped by someone else).
        /// </summary>
        private void WatchDaemon()
        {
            if (_daemon == 0 || _daemonPidFd >= 0 || _daemonIsChild)
            {
                return;
            }

            if (subreaper)
            {
                if (!_leaderReaped)
                {
                    return; // still the leader's child (which never reaps it): its pid is stable
                }

                int status;
                int result;
                do
                {
                    result = Libc.WaitPid(_daemon, &status, Libc.WNOHANG);
                }
                while (result < 0 && Libc.LastErrno == Errno.EINTR);
                if (result == _daemon)
                {
                    _daemonIsChild = true;
                    _daemonWaitStatus = status;
                    return;
                }

                if (result == 0)
                {
                    _daemonIsChild = true;
                    _daemonPidFd = Libc.PidFdOpen(_daemon, 0); // for a prompt wake-up only; waitpid decides
                    return;
                }

                // ECHILD: not re-parented to us (prctl was undone?): fall through to a pidfd.
            }

            int fd = Libc.PidFdOpen(_daemon, 0);
            if (fd >= 0)
            {
                _daemonPidFd = fd;
                return;
            }

            int errno = Libc.LastErrno;
            _watchFailure = errno == Errno.ESRCH
                ? $"the daemon (pid {_daemon}) exited before READY=1 (its exit status is unknown: it was reaped elsewhere)"
                : $"cannot watch the daemon (pid {_daemon}): pidfd_open failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}); it was left running";
        }

        private bool DaemonExited()
        {
            if (_daemonWaitStatus is not null)
            {
                return true;
            }

            if (_daemonIsChild)
            {
                int status;
                int result;
                do
                {
                    result = Libc.WaitPid(_daemon, &status, Libc.WNOHANG);
                }
                while (result < 0 && Libc.LastErrno == Errno.EINTR);
                if (result == _daemon)
                {
                    _daemonWaitStatus = status;
                    return true;
                }

                return result < 0; // ECHILD: reaped by someone else after all
            }

            if (_daemonPidFd >= 0)
            {
                var poll = new Libc.PollFd { Fd = _daemonPidFd, Events = Libc.POLLIN };
                return Libc.Poll(&poll, 1, 0) > 0 && (poll.REvents & Libc.POLLIN) != 0;
            }

            return false;
        }

        private void Drain()
        {
            while (socket.TryReceive() is { } message)
            {
                if (message.Pid == leader && _daemon == 0)
                {
                    Handle(message.Lines);
                    if (NotifyDatagramReader.Get(message.Lines, "MAINPID") is { } text && SystemdNumber.TryParsePid(text, out int pid) == 0)
                    {
                        Adopt(pid);
                    }
                }
                else if (_daemon != 0 && message.Pid == _daemon)
                {
                    Handle(message.Lines);
                }
                else if (_daemon == 0 && IsEarlyDaemonMessage(message.Pid, leader, _early.Count))
                {
                    _early.Add(message); // the daemon was quicker than its parent's MAINPID=
                }

                // Otherwise another process (a child of the daemon, or anyone who found the
                // abstract socket): ignored, as NotifyAccess=main does.
            }
        }

        /// <summary>The daemon is <paramref name="pid"/>: what it sent before that was known counts now, and it is watched.</summary>
        private void Adopt(int pid)
        {
            _daemon = pid;
            foreach ((int early, IReadOnlyList<string> lines) in _early)
            {
                if (early == pid)
                {
                    Handle(lines);
                }
            }

            _early.Clear();
            WatchDaemon();
        }

        /// <summary>
        /// The session leader exited without its MAINPID= (killed right after spawning the daemon,
        /// or its datagram lost): as a subreaper, its orphaned child is now OUR child, and the only
        /// one in the leader's session, whose id is the leader's pid (spec D-22). Orphans are
        /// re-parented before their parent's exit is reported, so after the leader was reaped the
        /// daemon, if it was spawned at all, is found here. 0 when there is none (or not exactly one).
        /// </summary>
        private int FindOrphanedDaemon()
        {
            int self = System.Environment.ProcessId;
            int found = 0;
            try
            {
                foreach (string entry in Directory.EnumerateDirectories("/proc"))
                {
                    if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == self)
                    {
                        continue;
                    }

                    string stat;
                    try
                    {
                        stat = File.ReadAllText(entry + "/stat");
                    }
                    catch (IOException)
                    {
                        continue; // gone meanwhile
                    }

                    // pid (comm) state ppid pgrp session ...; comm may contain anything but not a ')' after the last one.
                    string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    if (fields.Length > 3 && fields[1] == self.ToString(CultureInfo.InvariantCulture) && fields[3] == leader.ToString(CultureInfo.InvariantCulture))
                    {
                        if (found != 0)
                        {
                            return 0; // more than one: none of them can be told to be the daemon
                        }

                        found = pid;
                    }
                }
            }
            catch (IOException)
            {
                return 0;
            }

            return found;
        }

        private void Handle(IReadOnlyList<string> lines)
        {
            if (lines.Contains("READY=1"))
            {
                _ready = true;
            }

            if (NotifyDatagramReader.Get(lines, "STATUS") is { } status)
            {
                _status = status;
            }

            if (NotifyDatagramReader.Get(lines, "ERRNO") is { } errno && SystemdNumber.TryParseInt32(errno, out int e) == 0 && e >= 0)
            {
                _errno = e;
            }

            if (NotifyDatagramReader.Get(lines, "EXIT_STATUS") is { } exit && SystemdNumber.TryParseInt32(exit, out int x) == 0 && x >= 0)
            {
                _exitStatus = x;
            }

            if (NotifyDatagramReader.Get(lines, "EXTEND_TIMEOUT_USEC") is { } extend && SystemdNumber.TryParseUInt64(extend, out ulong usec) == 0)
            {
                // As the manager does: the timeout now ends that long from now, never earlier than it was.
                long until = Deadline.After(new TimeSpan((long)Math.Min(usec, long.MaxValue / TimeSpan.TicksPerMicrosecond) * TimeSpan.TicksPerMicrosecond));
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

        private string Describe(string what, bool withWaitStatus = false)
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

            if (withWaitStatus && _daemonWaitStatus is { } status)
            {
                // Exact, from waitpid(): also for a daemon killed by a signal, which could not say EXIT_STATUS=.
                if ((status & 0x7f) == 0)
                {
                    text.Append(CultureInfo.InvariantCulture, $" [exit status {(status >> 8) & 0xff}]");
                }
                else
                {
                    text.Append(CultureInfo.InvariantCulture, $" [killed by signal {status & 0x7f}]");
                }
            }
            else if (_exitStatus is { } exit)
            {
                text.Append(CultureInfo.InvariantCulture, $" [exit status {exit}]");
            }

            return text.ToString();
        }

        private static string ExitText(int status) =>
            status < 0 ? "" : (status & 0x7f) == 0 ? $"with status {(status >> 8) & 0xff}" : $"on signal {status & 0x7f}";
    }

    /// <summary>At most this many notifications are kept from the daemon before its pid is known (the rest are dropped).</summary>
    internal const int MaxEarlyMessages = 64;

    /// <summary>
    /// Before MAINPID= only the daemon can be early, and it is in the session leader's new
    /// session (its session id is the leader's pid, also after the leader exited). Anyone else
    /// who found the abstract socket is ignored, and at most <see cref="MaxEarlyMessages"/> are kept.
    /// </summary>
    internal static bool IsEarlyDaemonMessage(int pid, int leader, int kept) =>
        kept < MaxEarlyMessages && pid > 0 && pid != leader && Libc.GetSid(pid) == leader;

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
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Every failure (not only I/O: a command line that cannot be reproduced, an unreadable
            // /proc/self/fd) reaches the original process as STATUS= and ERRNO=.
            int errno = e is IOException && e.HResult is > 0 and < 4096 ? e.HResult : Errno.EIO;
            _ = channel.Send(new Notification(NotifyState.StatusFrom($"cannot start the daemon: {e.Message} ({e.GetType().Name})"), NotifyState.Errno(errno)));
            System.Environment.Exit(FailureExitCode);
        }
    }

    // ---- the daemon: steps 1, 9-13 --------------------------------------------------------------

    private static DaemonContext SetUpDaemon(DaemonOptions options, StageMarker marker)
    {
        // Failures before READY=1 reach the original process as notifications.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            _ = TrySend(new Notification(NotifyState.StatusFrom("unhandled exception: " + (e.ExceptionObject as Exception)?.GetType().Name + ": " + (e.ExceptionObject as Exception)?.Message), NotifyState.Errno(Errno.EIO)));
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

        if (pidFile is not null)
        {
            // From now on every exit removes it, also a failure below (Fail exits before the context exists).
            AppDomain.CurrentDomain.ProcessExit += (_, _) => pidFile.Dispose();
        }

        var context = new DaemonContext(kept, RedirectOutput(options.Output), pidFile);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => context.Dispose();
        unsafe
        {
            if (options.RootDirectory is { } root)
            {
                PreloadAssemblies();
                // No descriptor of a directory outside the new root may survive the chroot.
                pidFile?.LeaveDirectoryForRoot(root);
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
        _ = TrySend(new Notification(NotifyState.StatusFrom(message), NotifyState.Errno(errno is > 0 and < 4096 ? errno : Errno.EIO)));
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

    private static string ProgramName()
    {
        try
        {
            byte[][] argv = CommandLine.Current();
            string name = Path.GetFileName(Encoding.UTF8.GetString(argv[0]));
            return name is "dotnet" && argv.Length > 1 ? Path.GetFileNameWithoutExtension(Encoding.UTF8.GetString(argv[1])) : name;
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            // /proc/self/cmdline cannot be read (no free descriptor): the runtime's copy of the
            // command line names the program, or its dll under the dotnet host.
            string[] arguments = System.Environment.GetCommandLineArgs();
            return arguments.Length > 0 && arguments[0].Length > 0 ? Path.GetFileNameWithoutExtension(arguments[0]) : "daemon";
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

        // The descriptor must be an anonymous pipe (pipefs; a named FIFO is not one of ours), and
        // is only looked at, never changed (no O_NONBLOCK on a description others may share): poll
        // with a zero timeout before every read, so that this never blocks.
        StageMarker? marker = StageMarker.Parse(text);
        if (marker is null || !IsAnonymousPipe(marker.Fd))
        {
            return (DaemonStage.Original, null);
        }

        // The whole content must be the token, and the writer must be gone (EOF, not "nothing yet").
        byte[] expected = Encoding.ASCII.GetBytes(marker.Token);
        byte* buffer = stackalloc byte[StageMarker.TokenLength + 1];
        int length = 0;
        while (true)
        {
            var poll = new Libc.PollFd { Fd = marker.Fd, Events = Libc.POLLIN };
            int ready = Libc.Poll(&poll, 1, 0);
            if (ready < 0 && Libc.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (ready <= 0 || (poll.REvents & (Libc.POLLIN | Libc.POLLHUP)) == 0)
            {
                return (DaemonStage.Original, null); // no data and a writer still open, or an error: not our marker
            }

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

            if (n == 0)
            {
                break;
            }

            int errno = Libc.LastErrno;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (length > 0 && new ReadOnlySpan<byte>(buffer, length).SequenceEqual(expected.AsSpan(0, Math.Min(length, expected.Length))))
            {
                // What we read so far is the token: a genuine marker whose read failed. Acting as
                // the original would start yet another chain of stages: fail loudly instead.
                FailStage($"reading the stage marker failed after {length} bytes: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
            }

            return (DaemonStage.Original, null);
        }

        if (length != StageMarker.TokenLength || !new ReadOnlySpan<byte>(buffer, length).SequenceEqual(expected))
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
            FailStage($"stage {marker.Stage} check failed: session id {sid}, pid {System.Environment.ProcessId}", Errno.EPROTO);
        }

        return (marker.Stage, marker);
    }

    /// <summary>An anonymous pipe (S_IFIFO on pipefs), as pipe2() makes for the stage marker.</summary>
    private static unsafe bool IsAnonymousPipe(int fd)
    {
        if (!Libc.TryStat(fd, null, out FileIdentity identity, out _) || (identity.Mode & Libc.S_IFMT) != Libc.S_IFIFO)
        {
            return false;
        }

        long* statfs = stackalloc long[32]; // struct statfs starts with f_type (a long on 64-bit)
        return Libc.FStatFs(fd, statfs) == 0 && statfs[0] == Libc.PipeFsMagic;
    }

    /// <summary>A genuine stage that cannot go on: tell the original process (and stderr) why, and exit.</summary>
    private static void FailStage(string message, int errno)
    {
        _ = TrySend(new Notification(NotifyState.StatusFrom(message), NotifyState.Errno(errno is > 0 and < 4096 ? errno : Errno.EIO)));
        Console.Error.WriteLine($"{ProgramName()}: {message}");
        System.Environment.Exit(FailureExitCode);
    }
}
