using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Daemonization;

/// <summary>
/// Classic daemonization under the faults of issue 10 (items 4, 5, 7, 11, 12, 14 and the program's
/// name), each with the real example daemon started from a real terminal.
/// </summary>
[Collection(ClassicDaemonCollection.Name)]
public sealed partial class DaemonizationFaultTests : IDisposable
{
    private const int O_ACCMODE = 3;
    private const int O_NOATIME = 0x40000;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly DaemonDirectory _scratch = new("sdd-faults-");


    private string PidFile => _scratch.PidFile;

    public void Dispose() => _scratch.Dispose();

    [PeerFact("/usr/bin/script")]
    public void Every_stage_keeps_the_programs_name_in_comm_and_its_exact_argv()
    {
        // Spec D-23. Re-executing /proc/self/exe made the kernel name the daemon "exe" (ps, pgrep -x, systemctl status).
        foreach ((string command, string comm) in new[]
        {
            ($"{ClassicDaemon.AppHostPath} --daemon --pidfile {PidFile}", "ClassicDaemon"),
            ($"./ClassicDaemon --daemon --pidfile {PidFile}", "ClassicDaemon"),
            ($"{TestDaemon.DotnetPath} ./ClassicDaemon.dll --daemon --pidfile {PidFile}", Path.GetFileName(TestDaemon.DotnetPath)),
        })
        {
            ProcessResult launch = ClassicDaemon.RunInTerminal(command, workingDirectory: ClassicDaemon.Directory);
            Assert.True(launch.ExitCode == 0, command + ": " + launch.Stdout);
            int pid = ClassicDaemon.ReadPidFile(PidFile);
            Assert.Equal(comm + "\n", File.ReadAllText($"/proc/{pid}/comm"));
            Assert.Equal(command.Replace(' ', '\0') + "\0", File.ReadAllText($"/proc/{pid}/cmdline"));
            Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
            Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        }
    }

    [PeerFact("/usr/bin/script")]
    public void An_inherited_descriptor_above_RLIMIT_NOFILE_is_closed_in_the_daemon_and_does_not_fail_the_start()
    {
        // Spec D-17. glibc refuses to name fd 5000 in a spawn file action when the limit is 1024 ("addclose failed: errno 9").
        ProcessResult launch = ClassicDaemon.RunInTerminal($"exec 5000</dev/null; ulimit -n 1024; {ClassicDaemon.Command($"--daemon --pidfile {PidFile}")}");
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        Assert.Equal("", launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Equal("1024", ClassicDaemon.Limits(pid, "Max open files"));
        Assert.DoesNotContain(5000, ClassicDaemon.Descriptors(pid).Keys);
        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
    }

    [PeerFact("/usr/bin/script")]
    public void Without_a_free_descriptor_the_launcher_says_so_on_the_terminal_and_exits_1()
    {
        // Spec D-15 (every failure reaches the terminal). The example opens /dev/null until EMFILE before Daemon.Start,
        // which threw FileNotFoundException (loading System.Console for the message).
        ProcessResult launch = ClassicDaemon.RunInTerminal($"ulimit -n 512; {ClassicDaemon.Command("--daemon --exhaust-fds")}");
        Assert.Equal(
            (1, "ClassicDaemon: cannot start the daemon: this process has no free file descriptor (errno 24: Too many open files; see RLIMIT_NOFILE, ulimit -n)\n"),
            (launch.ExitCode, launch.Stdout));
    }

    [PeerFact("/usr/bin/strace")]
    public void The_launcher_adopts_the_daemon_when_the_session_leader_dies_after_spawning_it_before_MAINPID()
    {
        // Spec D-22. The session leader is stopped as soon as it exists (long before it spawns the daemon), and
        // strace kills it on its first sendmsg: the MAINPID= datagram, right after the spawn.
        string trace = Path.Combine(_scratch.Path, "leader.strace");
        Task<ProcessResult> launching = Task.Run(() => ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}")));
        int leader = WaitForProcess(p => Read($"/proc/{p}/cmdline").Contains(PidFile, StringComparison.Ordinal)
            && Read($"/proc/{p}/environ").Split('\0').Any(v => v.StartsWith("SDDAEMON_STAGE=1:", StringComparison.Ordinal)));
        Assert.Equal(0, Kill(leader, 19)); // SIGSTOP
        using Process strace = Process.Start(new ProcessStartInfo("/usr/bin/strace", ["-qq", "-o", trace, "-e", "trace=sendmsg", "-e", "inject=sendmsg:signal=KILL", "-p", leader.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        var until = DateTime.UtcNow + Patience;
        while (ClassicDaemon.Status(leader, "TracerPid") == "0")
        {
            Assert.True(DateTime.UtcNow < until, "strace did not attach");
            Thread.Sleep(10);
        }

        Assert.Equal(0, Kill(leader, 18)); // SIGCONT
        ProcessResult launch = launching.Result;
        Assert.True(strace.WaitForExit(Patience));
        string traced = File.ReadAllText(trace);
        Assert.Contains("iov_base=\"MAINPID=", traced, StringComparison.Ordinal);
        Assert.EndsWith("+++ killed by SIGKILL +++\n", traced, StringComparison.Ordinal);

        Assert.True(launch.ExitCode == 0, launch.Stdout);
        Assert.Equal("", launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Contains($"iov_base=\"MAINPID={pid}\"", traced, StringComparison.Ordinal);
        Assert.True(ClassicDaemon.IsAlive(pid));
        Assert.Equal(leader.ToString(CultureInfo.InvariantCulture), ClassicDaemon.Stat(pid)[3]); // the dead leader's session
        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
    }

    [PeerFact("/usr/bin/setpriv")]
    public void After_dropping_privileges_the_daemon_holds_no_writable_descriptor_of_its_pid_file_and_still_excludes_a_second_start()
    {
        // Spec D-20.
        ProcessResult launch = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile} --user nobody"));
        Assert.True(launch.ExitCode == 0, launch.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Equal("65534\t65534\t65534\t65534", ClassicDaemon.Status(pid, "Uid"));

        // Exactly one descriptor of the file: read-only (O_NOATIME marks it as opened by the file's owner), and it holds the lock.
        KeyValuePair<int, (string Target, int Flags)> held = Assert.Single(ClassicDaemon.Descriptors(pid), fd => fd.Value.Target == PidFile);
        Assert.Equal(0, held.Value.Flags & O_ACCMODE);
        Assert.Equal(O_NOATIME, held.Value.Flags & O_NOATIME);
        Assert.Contains(File.ReadAllLines($"/proc/{pid}/fdinfo/{held.Key}"), l => l.StartsWith("lock:", StringComparison.Ordinal) && l.Contains("OFDLCK ADVISORY  READ", StringComparison.Ordinal));

        // So nobody (the daemon's user, and what a compromised daemon could do) cannot rewrite it, while the lock still excludes.
        ProcessResult rewrite = ProcessRunner.Run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", $"echo 1 > {PidFile}"]);
        Assert.NotEqual(0, rewrite.ExitCode);
        ProcessResult second = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
        Assert.Equal((1, $"ClassicDaemon: already running as pid {pid} (PID file '{PidFile}' is locked)\n"), (second.ExitCode, second.Stdout));
        Assert.Equal(pid, ClassicDaemon.ReadPidFile(PidFile));

        Assert.Equal(pid, DaemonControl.Stop(PidFile, Patience));
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
        Assert.False(File.Exists(PidFile)); // removed by the controller (the daemon may not unlink in a root-owned directory)
        Assert.Empty(Directory.GetFileSystemEntries(_scratch.Path)); // neither the guard nor a temporary file stays behind
    }

    [PeerFact("/usr/bin/python3")]
    public void A_read_lock_another_user_holds_on_a_stale_pid_file_neither_counts_as_running_nor_blocks_the_restart()
    {
        ProcessResult first = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
        Assert.True(first.ExitCode == 0, first.Stdout);
        int pid = ClassicDaemon.ReadPidFile(PidFile);
        Assert.Equal(0, ProcessRunner.Run("/bin/kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]).ExitCode);
        Assert.True(ClassicDaemon.WaitForExit(pid, Patience));

        // Spec D-18, D-19. nobody opens the world-readable file and takes a shared OFD lock (F_OFD_SETLK = 37, F_RDLCK) on all of it.
        const string Locker = "import fcntl, os, struct, sys, time\n"
            + "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            + "fcntl.fcntl(fd, 37, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0))\n"
            + "print('locked', flush=True)\n"
            + "time.sleep(120)\n";
        using Process locker = Process.Start(new ProcessStartInfo("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", Locker, PidFile]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            Assert.Equal("locked", locker.StandardOutput.ReadLine());
            ProcessResult status = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--status", "--pidfile", PidFile]);
            Assert.Equal((3, $"not running: PID file '{PidFile}' is stale: only readers lock it, its daemon's lock is gone (it names pid {pid})\n"), (status.ExitCode, status.Stderr));

            ProcessResult restart = ClassicDaemon.RunInTerminal(ClassicDaemon.Command($"--daemon --pidfile {PidFile}"));
            Assert.True(restart.ExitCode == 0, restart.Stdout);
            int newPid = ClassicDaemon.ReadPidFile(PidFile);
            Assert.NotEqual(pid, newPid);
            status = ProcessRunner.Run(TestDaemon.DotnetPath, [ClassicDaemon.DllPath, "--status", "--pidfile", PidFile]);
            Assert.Equal((0, $"running as pid {newPid}\n"), (status.ExitCode, status.Stdout));
            Assert.Equal(newPid, DaemonControl.Stop(PidFile, Patience));
            Assert.True(ClassicDaemon.WaitForExit(newPid, Patience));
        }
        finally
        {
            locker.Kill();
            locker.WaitForExit();
        }
    }

    [PeerFact("/usr/bin/setpriv")]
    public void A_pid_file_the_controller_may_not_read_is_status_unknown_LSB_4_not_not_running()
    {
        // Spec D-21.
        File.WriteAllText(PidFile, "1\n");
        File.SetUnixFileMode(PidFile, (UnixFileMode)0x180); // 0600, root's: nobody gets EACCES
        ProcessResult status = ProcessRunner.Run("/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", TestDaemon.DotnetPath, ClassicDaemon.DllPath, "--status", "--pidfile", PidFile],
            new Dictionary<string, string?> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" });
        Assert.Equal((4, $"cannot tell whether a daemon runs: cannot open PID file '{PidFile}' (errno 13: Permission denied)\n"), (status.ExitCode, status.Stderr));
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    /// <summary>Polls /proc (every millisecond or so) for the first process that matches.</summary>
    private static int WaitForProcess(Func<int, bool> match)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < Patience)
        {
            foreach (string entry in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && match(pid))
                {
                    return pid;
                }
            }

            Thread.Sleep(1);
        }

        throw new TimeoutException("the process did not appear");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
