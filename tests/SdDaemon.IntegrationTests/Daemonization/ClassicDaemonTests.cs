using System.Globalization;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Daemonization;

/// <summary>
/// Classic double daemonization (daemon(7) steps 1-15, spec D) with real processes: the example
/// daemon is started from a real terminal (script(1) gives the shell a pseudo-terminal as its
/// controlling tty) and inspected through /proc.
/// </summary>
[Collection(ClassicDaemonCollection.Name)]
public sealed class ClassicDaemonTests : IDisposable
{
    private const int O_CLOEXEC = 0x80000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly DaemonDirectory _scratch = new("sdd-classic-");


    private string PidFile => _scratch.PidFile;

    private string LogFile => Path.Combine(_scratch.Path, "daemon.log");

    public void Dispose() => _scratch.Dispose();

    [PeerFact("/usr/bin/script")]
    public void Started_from_a_terminal_it_detaches_and_the_launcher_exits_0_only_after_READY()
    {
        string leaked = Path.Combine(_scratch.Path, "leaked");
        File.WriteAllText(leaked, "x");
        // The shell has a controlling tty (printed), and a descriptor without FD_CLOEXEC (7) the daemon must not inherit.
        ProcessResult launch = ClassicDaemon.RunInTerminal(
            $"tty; exec 7<{ClassicDaemon.Quote(leaked)}; {ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile} --umask 027 --chdir /tmp --ready-delay 300")}");

        long returned = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True(launch.ExitCode == 0, $"launcher exited {launch.ExitCode}: {launch.Stdout}{launch.Stderr}");
        Assert.Matches("^/dev/pts/[0-9]+\n$", launch.Stdout); // it ran on a terminal and printed nothing else
        // The launcher returned after READY=1: the daemon had logged "ready" (it sends READY=1 first, then logs).
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.True(WaitForLog("ready"), File.ReadAllText(LogFile));
        string sending = File.ReadAllLines(LogFile).Single(l => l.StartsWith("sending READY=1 at ", StringComparison.Ordinal));
        Assert.True(returned >= long.Parse(sending["sending READY=1 at ".Length..], CultureInfo.InvariantCulture), "the launcher returned before the daemon sent READY=1");
        Assert.True(ClassicDaemon.IsAlive(pid));

        // Orphaned: re-parented to the nearest subreaper, which is this test host.
        Assert.Equal(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), ClassicDaemon.Status(pid, "PPid"));
        string[] stat = ClassicDaemon.Stat(pid);
        int session = int.Parse(stat[3], CultureInfo.InvariantCulture);
        Assert.NotEqual(pid, session);                  // not a session leader: can never acquire a terminal
        Assert.Equal(session, int.Parse(stat[2], CultureInfo.InvariantCulture)); // in the leader's process group
        Assert.False(ClassicDaemon.IsAlive(session));   // the session leader exited
        Assert.Equal("0", stat[4]);                     // tty_nr: no controlling terminal
        Assert.Equal("/tmp", new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget);
        Assert.Equal("0027", ClassicDaemon.Status(pid, "Umask"));

        Dictionary<int, (string Target, int Flags)> fds = ClassicDaemon.Descriptors(pid);
        Assert.Equal("/dev/null", fds[0].Target);
        Assert.Equal(LogFile, fds[1].Target);
        Assert.Equal(LogFile, fds[2].Target);
        Assert.Equal(0x400, fds[1].Flags & 0x400); // O_APPEND
        Assert.Single(fds, fd => fd.Value.Target == PidFile);
        Assert.DoesNotContain(fds, fd => fd.Value.Target == leaked);
        Assert.DoesNotContain(fds, fd => fd.Value.Target.StartsWith("/dev/pts", StringComparison.Ordinal) || fd.Value.Target == "/dev/tty");
        // Above 2, nothing that a child of the daemon would inherit: only the runtime's and the library's own (CLOEXEC) descriptors.
        Assert.All(fds.Where(fd => fd.Key > 2), fd => Assert.True((fd.Value.Flags & O_CLOEXEC) != 0, $"fd {fd.Key} -> {fd.Value.Target} is not close-on-exec"));

        // The PID file: mode 0644, locked (an OFD lock, so /proc/locks shows -1 as its owner; shared: it is held through a read-only descriptor).
        Assert.Equal((UnixFileMode)0x1A4, File.GetUnixFileMode(PidFile));
        Assert.Contains(File.ReadAllLines("/proc/locks"), line => line.Contains("OFDLCK ADVISORY  READ -1 ", StringComparison.Ordinal) && line.Contains(":" + Inode(PidFile) + " ", StringComparison.Ordinal));

        // Control: --stop finds it through the lock, SIGTERM, clean exit removes the PID file.
        ProcessResult stop = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--stop", "--pidfile", PidFile]);
        Assert.Equal(0, stop.ExitCode);
        Assert.Equal($"stopped pid {pid}\n", stop.Stdout);
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        Assert.False(File.Exists(PidFile));
        Assert.EndsWith("ready\nstopping\n", File.ReadAllText(LogFile), StringComparison.Ordinal);

        ProcessResult again = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--stop", "--pidfile", PidFile]);
        Assert.Equal(7, again.ExitCode);
        Assert.Equal($"not running: PID file '{PidFile}' does not exist\n", again.Stderr);
    }

    [PeerFact("/usr/bin/script")]
    public void A_second_start_fails_at_once_naming_the_running_pid_and_a_killed_daemons_stale_file_is_taken_over()
    {
        ProcessResult first = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
        Assert.True(first.ExitCode == 0, first.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);

        ProcessResult second = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
        Assert.Equal(1, second.ExitCode);
        Assert.Equal($"ClassicDaemon: already running as pid {pid} (PID file '{PidFile}' is locked)\n", second.Stdout);
        Assert.Equal(pid, ClassicDaemon.ReadPidFile(PidFile));

        ProcessResult status = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--status", "--pidfile", PidFile]);
        Assert.Equal((0, $"running as pid {pid}\n"), (status.ExitCode, status.Stdout));

        // kill -9: no clean exit, the file stays with the dead pid but nobody holds its lock.
        Assert.Equal(0, ProcessRunner.Run("/bin/kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]).ExitCode);
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        Assert.Equal(pid, ClassicDaemon.ReadPidFile(PidFile));
        status = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--status", "--pidfile", PidFile]);
        Assert.Equal((3, $"not running: PID file '{PidFile}' is stale: no process holds its lock (it names pid {pid})\n"), (status.ExitCode, status.Stderr));

        ProcessResult restart = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
        Assert.True(restart.ExitCode == 0, restart.Stdout);
        int newPid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.NotEqual(pid, newPid);
        Assert.True(ClassicDaemon.IsAlive(newPid));
        Assert.Equal(newPid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(newPid, Patience));
    }

    [PeerFact("/usr/bin/script")]
    public void A_daemon_that_fails_before_READY_makes_the_launcher_exit_1_with_its_STATUS_ERRNO_and_exit_status()
    {
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --fail-before-ready 'config file missing'"));
        Assert.Equal(1, launch.ExitCode);
        Assert.Matches("^ClassicDaemon: the daemon \\(pid [0-9]+\\) exited before READY=1: config file missing \\(errno 2: No such file or directory\\) \\[exit status 3\\]\n$", launch.Stdout);
        Assert.False(File.Exists(PidFile)); // removed on its (clean) exit

        ProcessResult crash = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --crash-before-ready 5"));
        Assert.Equal(1, crash.ExitCode);
        Assert.Matches("^ClassicDaemon: the daemon \\(pid [0-9]+\\) exited before READY=1 \\[exit status 5\\]\n$", crash.Stdout);

        ProcessResult thrown = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --throw-before-ready 'no database'"));
        Assert.Equal(1, thrown.ExitCode);
        Assert.Matches("^ClassicDaemon: the daemon \\(pid [0-9]+\\) exited before READY=1: unhandled exception: InvalidOperationException: no database \\(errno 5: Input/output error\\) \\[killed by signal 6\\]\n$", thrown.Stdout);

        // A log file that cannot be opened: the reason reaches the terminal and the PID file does not stay behind.
        ProcessResult log = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {_scratch.Path}/missing/daemon.log"));
        Assert.Equal(1, log.ExitCode);
        Assert.Matches($"^ClassicDaemon: the daemon \\(pid [0-9]+\\) exited before READY=1: cannot open log file '{_scratch.Path}/missing/daemon.log' \\(errno 2: No such file or directory\\) \\[exit status 1\\]\n$", log.Stdout);
        Assert.False(File.Exists(PidFile));

        // Refused by the original itself, on the terminal, before anything is spawned.
        ProcessResult unknown = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --user no-such-user-here"));
        Assert.Equal((1, "ClassicDaemon: unknown user 'no-such-user-here'\n"), (unknown.ExitCode, unknown.Stdout));
        Assert.False(File.Exists(PidFile));
    }

    [PeerFact("/usr/bin/script")]
    public void A_daemon_that_dies_at_once_makes_the_launcher_exit_1_promptly_with_its_exact_wait_status()
    {
        // It dies (SIGKILL, no notification at all) right after starting, likely before its parent's
        // MAINPID= is even read: the launcher, its subreaper, still reaps it and says how it ended.
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --start-timeout 60000 --abort-before-ready"));
        Assert.Equal(1, launch.ExitCode);
        Assert.Matches("^ClassicDaemon: the daemon \\(pid [0-9]+\\) exited before READY=1 \\[killed by signal 9\\]\n$", launch.Stdout);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(20), $"the launcher took {stopwatch.Elapsed} (start timeout 60 s)");
        // Killed: the file stays, unlocked, and the next start takes it over.
        Assert.False(DaemonControl.TryFindRunning(PidFile, out _, out _));
    }

    [PeerFact("/usr/bin/script")]
    public void The_start_timeout_fails_the_launcher_and_EXTEND_TIMEOUT_USEC_extends_it()
    {
        // 6 s: the session leader's MAINPID= (two runtime start-ups, seconds on a loaded machine) must come within it.
        ProcessResult late = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --start-timeout 6000 --ready-delay 20000"));
        Assert.Equal(1, late.ExitCode);
        Assert.Matches("^ClassicDaemon: no READY=1 from the daemon \\(pid ([0-9]+)\\) within the start timeout; it was sent SIGTERM\n$", late.Stdout);
        int pid = int.Parse(System.Text.RegularExpressions.Regex.Match(late.Stdout, "pid ([0-9]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience), "the late daemon was not stopped");

        // The extension must arrive within the start timeout (6 s, as above), and READY=1 comes 8 s after the
        // daemon started, so only the extension lets it in.
        ProcessResult extended = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --start-timeout 6000 --extend-timeout 15000 --ready-delay 8000"));
        Assert.True(extended.ExitCode == 0, extended.Stdout);
        DaemonControl.Stop(PidFile, Patience);
    }

    [PeerFact("/usr/bin/script")]
    public void Privileges_are_dropped_to_nobody_and_a_kept_descriptor_keeps_its_lock_through_every_stage()
    {
        string lockFile = Path.Combine(_scratch.Path, "held.lock");
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile} --user nobody --keep-lock {lockFile}"));
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Equal("65534\t65534\t65534\t65534", ClassicDaemon.Status(pid, "Uid"));
        Assert.Equal("65534\t65534\t65534\t65534", ClassicDaemon.Status(pid, "Gid"));
        Assert.Equal("65534", ClassicDaemon.Status(pid, "Groups"));

        // The flock taken in the original process is still held, by the daemon, on the same descriptor number.
        Dictionary<int, (string Target, int Flags)> fds = ClassicDaemon.Descriptors(pid);
        KeyValuePair<int, (string Target, int Flags)> kept = Assert.Single(fds, fd => fd.Value.Target == lockFile);
        Assert.True(WaitForLog("ready"));
        Assert.Contains($"kept={kept.Key}", File.ReadAllText(LogFile), StringComparison.Ordinal);
        Assert.Equal(1, ProcessRunner.Run("/usr/bin/flock", ["-n", lockFile, "true"]).ExitCode);

        // Reload reaches it (root may signal nobody's process).
        ProcessResult reload = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--reload", "--pidfile", PidFile]);
        Assert.Equal((0, $"reload sent to pid {pid}\n"), (reload.ExitCode, reload.Stdout));
        Assert.True(WaitForLog("reloaded 1"), File.ReadAllText(LogFile));

        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        Assert.Equal(0, ProcessRunner.Run("/usr/bin/flock", ["-n", lockFile, "true"]).ExitCode);
        // nobody may not unlink in a root-owned directory; the controller (root) removed the stale file after the exit.
        Assert.False(File.Exists(PidFile));
    }

    [PeerFact("/usr/bin/script")]
    public void The_exact_command_line_is_reproduced_for_a_relative_apphost_and_for_dotnet_with_a_relative_dll()
    {
        foreach (string command in new[] { "./ClassicDaemon --daemon --pidfile " + PidFile, $"{TestDaemon.DotnetPath} ./ClassicDaemon.dll --daemon --pidfile {PidFile}" })
        {
            ProcessResult launch = ClassicDaemon.RunInTerminal(command, workingDirectory: ClassicDaemon.Directory);
            Assert.True(launch.ExitCode == 0, command + ": " + launch.Stdout);
            int pid = ClassicDaemon.ReadPidFile(PidFile);
            Assert.Equal(command.Replace(' ', '\0') + "\0", File.ReadAllText($"/proc/{pid}/cmdline"));
            Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
            Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        }
    }

    [PeerFact("/usr/bin/script")]
    public void A_stage_marker_set_by_hand_is_not_trusted()
    {
        // Stage "daemon", fd 0 (not a pipe holding the token): the program is the original and daemonizes properly.
        ProcessResult launch = ClassicDaemon.RunInTerminal($"SDDAEMON_STAGE=2:3:0123456789abcdef0123456789abcdef: {ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile}")} 3</dev/null");
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.NotEqual(pid, int.Parse(ClassicDaemon.Stat(pid)[3], CultureInfo.InvariantCulture));
        // Its marker came from its real session leader (/proc/PID/environ is the environment it was exec'ed with).
        Assert.DoesNotContain("0123456789abcdef0123456789abcdef", File.ReadAllText($"/proc/{pid}/environ"), StringComparison.Ordinal);
        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));

        // A FIFO holding a wrong token (its writer closed), and a FIFO holding the right token whose
        // writer is still open: neither is trusted (nor blocks, nor is changed), the program daemonizes properly.
        string fifo = Path.Combine(_scratch.Path, "marker.fifo");
        const string Token = "0123456789abcdef0123456789abcdef";
        foreach ((string setup, string name) in new[]
        {
            ($"mkfifo {fifo}; exec 3<>{fifo}; printf fedcba9876543210fedcba9876543210 >&3; exec 4<{fifo}; exec 3>&-", "wrong token"),
            ($"mkfifo {fifo}; exec 4<>{fifo}; printf {Token} >&4", "writer open"),
        })
        {
            File.Delete(fifo);
            ProcessResult forged = ClassicDaemon.RunInTerminal($"{setup}; SDDAEMON_STAGE=2:4:{Token}: {ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile}")}");
            Assert.True(forged.ExitCode == 0, name + ": " + forged.Stdout);
            int forgedPid = ClassicDaemon.ReadPidFile(PidFile);
            Assert.NotEqual(forgedPid, int.Parse(ClassicDaemon.Stat(forgedPid)[3], CultureInfo.InvariantCulture));
            Assert.DoesNotContain(Token, File.ReadAllText($"/proc/{forgedPid}/environ"), StringComparison.Ordinal);
            Assert.Equal(forgedPid, DaemonControl.Stop(PidFile, Patience));
            Assert.True(ClassicDaemon.WaitForExit(forgedPid, Patience));
        }
    }

    [PeerFact("/usr/bin/script")]
    public void Captured_output_reaches_the_daemon_and_a_sanitized_environment_keeps_only_what_is_needed()
    {
        string captured = Path.Combine(_scratch.Path, "captured.log");
        ProcessResult launch = ClassicDaemon.RunInTerminal($"SECRET_TOKEN=x LANG=C.UTF-8 {ClassicDaemon.Command($"--daemon --pidfile {PidFile} --capture {captured} --sanitize-env")}");
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Dictionary<int, (string Target, int Flags)> fds = ClassicDaemon.Descriptors(pid);
        Assert.StartsWith("pipe:[", fds[1].Target, StringComparison.Ordinal);
        Assert.Equal(fds[1].Target, fds[2].Target);
        var until = DateTime.UtcNow + Patience;
        while (!(File.Exists(captured) && File.ReadAllText(captured).Contains("captured: ready\n", StringComparison.Ordinal)) && DateTime.UtcNow < until)
        {
            Thread.Sleep(20);
        }

        Assert.Matches("^captured: started pid=[0-9]+ stage=Daemon kept=\ncaptured: sending READY=1 at [0-9]+\ncaptured: ready\n$", File.ReadAllText(captured));
        string[] environment = File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(
            ["LANG=C.UTF-8", "NOTIFY_SOCKET", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "SDDAEMON_STAGE"],
            environment.Where(e => !e.StartsWith("DOTNET_", StringComparison.Ordinal))
                .Select(e => e.StartsWith("NOTIFY_SOCKET=@sddaemon/", StringComparison.Ordinal) ? "NOTIFY_SOCKET" : e.StartsWith("SDDAEMON_STAGE=2:", StringComparison.Ordinal) ? "SDDAEMON_STAGE" : e)
                .Order(StringComparer.Ordinal));
        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
    }

    [PeerFact("/usr/bin/script")]
    public void Chroot_then_chdir_inside_it_then_privilege_drop()
    {
        string jail = Path.Combine(_scratch.Path, "jail");
        Directory.CreateDirectory(Path.Combine(jail, "srv"));
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile} --chroot {jail} --chdir /srv --user nobody"));
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Equal(jail, new DirectoryInfo($"/proc/{pid}/root").LinkTarget);
        Assert.Equal(Path.Combine(jail, "srv"), new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget);
        Assert.Equal("65534\t65534\t65534\t65534", ClassicDaemon.Status(pid, "Uid"));
        // No descriptor of a directory outside the jail (openat(fd, "..") or fchdir would escape it).
        foreach (string entry in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            if (Directory.Exists(entry))
            {
                string target = new FileInfo(entry).LinkTarget ?? "";
                Assert.True(target == jail || target.StartsWith(jail + "/", StringComparison.Ordinal), $"fd {Path.GetFileName(entry)} -> {target} is a directory outside the root");
            }
        }

        // Still fully working inside the jail (the runtime's assemblies were preloaded): reload and stop.
        ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--reload", "--pidfile", PidFile]).EnsureSuccess("--reload");
        Assert.True(WaitForLog("reloaded 1"), File.ReadAllText(LogFile));
        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        Assert.EndsWith("reloaded 1\nstopping\n", File.ReadAllText(LogFile), StringComparison.Ordinal);
        Assert.False(File.Exists(PidFile)); // outside the jail: not removable by the daemon, removed by the controller
    }

    [PeerFact("/usr/sbin/start-stop-daemon")]
    public void Start_stop_daemon_stops_it_through_the_pid_file()
    {
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --log {LogFile}"));
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        // We are the daemon's subreaper: reap it while start-stop-daemon waits, or it would see a zombie that "refused to die".
        Task<ProcessResult> stopping = Task.Run(() => ProcessRunner.Run("/usr/sbin/start-stop-daemon", ["--stop", "--pidfile", PidFile, "--retry", "TERM/10"]));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        ProcessResult stop = stopping.Result;
        Assert.True(stop.ExitCode == 0, stop.Stdout + stop.Stderr);
        Assert.False(File.Exists(PidFile));
        Assert.EndsWith("stopping\n", File.ReadAllText(LogFile), StringComparison.Ordinal);
        Assert.Equal(1, ProcessRunner.Run("/usr/sbin/start-stop-daemon", ["--stop", "--pidfile", PidFile]).ExitCode); // nothing to stop
    }

    private static string Inode(string path) => ProcessRunner.Run("/usr/bin/stat", ["-c", "%i", path]).Stdout.Trim();

    private bool WaitForLog(string line)
    {
        var until = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < until)
        {
            if (File.Exists(LogFile) && File.ReadAllLines(LogFile).Contains(line))
            {
                return true;
            }

            Thread.Sleep(20);
        }

        return false;
    }
}
