using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Daemonization;
using Xunit;

namespace SdDaemon.Tests.Daemonization;

public sealed class DaemonOptionsTests
{
    [Fact]
    public void Defaults_follow_daemon7()
    {
        var options = new DaemonOptions();
        Assert.Null(options.PidFile);
        Assert.Equal("/", options.WorkingDirectory);
        Assert.Equal(UnixFileMode.None, options.Umask);
        Assert.Same(DaemonOutput.Null, options.Output);
        Assert.Equal(TimeSpan.FromSeconds(90), options.StartTimeout);
        Assert.False(options.SanitizeEnvironment);
        options.Validate();
    }

    [Theory]
    [InlineData("pid", "")]
    [InlineData("pid", "/run/")]
    [InlineData("root", "relative/root")]
    [InlineData("user", "")]
    [InlineData("group", "")]
    [InlineData("umask", "")]
    [InlineData("workdir", "")]
    [InlineData("workdir-in-root", "")]
    [InlineData("env", "A=B")]
    public void Invalid_options_are_rejected_before_anything_happens(string what, string value)
    {
        var options = new DaemonOptions();
        switch (what)
        {
            case "pid": options.PidFile = value; break;
            case "root": options.RootDirectory = value; break;
            case "user": options.User = value; break;
            case "group": options.Group = value; break;
            case "umask": options.Umask = (UnixFileMode)0x1000; break;
            case "workdir": options.WorkingDirectory = value; break;
            case "workdir-in-root": options.RootDirectory = "/srv/jail"; options.WorkingDirectory = "data"; break;
            case "env": options.KeepEnvironment.Add(value); break;
        }

        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void Keeping_stdio_or_a_closed_handle_is_rejected()
    {
        var options = new DaemonOptions();
        options.KeepFiles.Add(new Microsoft.Win32.SafeHandles.SafeFileHandle(1, ownsHandle: false));
        Assert.Throws<ArgumentException>(options.Validate);

        options.KeepFiles.Clear();
        var closed = File.OpenHandle(Path.GetTempFileName(), FileMode.Open);
        closed.Dispose();
        options.KeepFiles.Add(closed);
        Assert.Throws<ArgumentException>(options.Validate);
    }

    [Fact]
    public void StartTimeout_must_be_positive_or_infinite()
    {
        var options = new DaemonOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StartTimeout = TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.StartTimeout = TimeSpan.FromSeconds(-1));
        options.StartTimeout = Timeout.InfiniteTimeSpan;
        Assert.Equal(Timeout.InfiniteTimeSpan, options.StartTimeout);
    }

    [Fact]
    public void Output_kinds()
    {
        Assert.Equal(DaemonOutputKind.Null, DaemonOutput.Null.Kind);
        Assert.Equal(DaemonOutputKind.Capture, DaemonOutput.Capture.Kind);
        DaemonOutput log = DaemonOutput.AppendToFile("/var/log/x.log");
        Assert.Equal((DaemonOutputKind.AppendToFile, "/var/log/x.log", (UnixFileMode)0x1A0), (log.Kind, log.Path, log.Mode)); // 0640
        Assert.Throws<ArgumentException>(() => DaemonOutput.AppendToFile(""));
        Assert.Equal("append:/var/log/x.log", log.ToString());
    }
}

public sealed class StageMarkerTests
{
    [Fact]
    public void Round_trips()
    {
        var marker = new StageMarker(DaemonStage.Daemon, 7, StageMarker.NewToken(), [3, 12]);
        StageMarker? parsed = StageMarker.Parse(marker.Format());
        Assert.NotNull(parsed);
        Assert.Equal((marker.Stage, marker.Fd, marker.Token), (parsed.Stage, parsed.Fd, parsed.Token));
        Assert.Equal([3, 12], parsed.KeptFds);
        Assert.Matches("^2:7:[0-9a-f]{32}:3,12$", marker.Format());
    }

    [Fact]
    public void Tokens_are_random()
    {
        Assert.NotEqual(StageMarker.NewToken(), StageMarker.NewToken());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("daemon")]
    [InlineData("2")]
    [InlineData("0:5:0123456789abcdef0123456789abcdef:")]    // stage 0 is never a marker
    [InlineData("3:5:0123456789abcdef0123456789abcdef:")]
    [InlineData("2:2:0123456789abcdef0123456789abcdef:")]    // stdio is not a marker pipe
    [InlineData("2:-5:0123456789abcdef0123456789abcdef:")]
    [InlineData("2:5:0123456789ABCDEF0123456789ABCDEF:")]    // upper case
    [InlineData("2:5:0123456789abcdef:")]                    // short
    [InlineData("2:5:0123456789abcdef0123456789abcdef:5")]   // kept = marker
    [InlineData("2:5:0123456789abcdef0123456789abcdef:7,7")]
    [InlineData("2:5:0123456789abcdef0123456789abcdef:1")]
    [InlineData("2:5:0123456789abcdef0123456789abcdef:x")]
    [InlineData("2:5:0123456789abcdef0123456789abcdef:3:4")]
    [InlineData(" 2:5:0123456789abcdef0123456789abcdef:")]
    public void Malformed_markers_are_ignored(string? text)
    {
        Assert.Null(StageMarker.Parse(text));
    }

    [Fact]
    public void Without_a_marker_this_process_is_the_original()
    {
        Assert.Equal(DaemonStage.Original, Daemon.Stage);
    }
}

public sealed class CommandLineTests
{
    [Fact]
    public void Splits_argv_byte_for_byte_keeping_empty_and_non_ascii_arguments()
    {
        byte[] cmdline = Encoding.UTF8.GetBytes("dotnet\0./app.dll\0\0--name=é ü\0");
        byte[][] argv = CommandLine.Parse(cmdline);
        Assert.Equal(["dotnet", "./app.dll", "", "--name=é ü"], argv.Select(a => Encoding.UTF8.GetString(a)));
    }

    [Fact]
    public void A_command_line_without_its_final_NUL_cannot_be_reproduced()
    {
        Assert.Throws<FormatException>(() => CommandLine.Parse("app\0--x"u8));
        Assert.Throws<FormatException>(() => CommandLine.Parse(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void The_current_command_line_starts_with_the_real_argv0()
    {
        byte[][] argv = CommandLine.Current();
        Assert.NotEmpty(argv);
        Assert.Equal(File.ReadAllBytes("/proc/self/cmdline"), argv.SelectMany(a => a.Append((byte)0)).ToArray());
    }
}

public sealed class SpawnEnvironmentTests
{
    [Fact]
    public void Sanitizing_keeps_PATH_the_named_variables_DOTNET_ROOT_and_NOTIFY_SOCKET_only_never_code_loading_DOTNET_variables()
    {
        var environment = new Dictionary<string, string>
        {
            ["PATH"] = "/home/me/bin",
            ["HOME"] = "/home/me",
            ["LANG"] = "C.UTF-8",
            ["DOTNET_ROOT"] = "/opt/dotnet",
            ["DOTNET_STARTUP_HOOKS"] = "/tmp/evil.dll",
            ["DOTNET_ADDITIONAL_DEPS"] = "/tmp/evil.deps.json",
            ["DOTNET_gcServer"] = "1",
            ["NOTIFY_SOCKET"] = "@private",
            ["SECRET_TOKEN"] = "x",
        };
        Dictionary<string, string> sanitized = StageSpawner.Sanitize(environment, ["LANG"]);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                ["LANG"] = "C.UTF-8",
                ["DOTNET_ROOT"] = "/opt/dotnet",
                ["NOTIFY_SOCKET"] = "@private",
            },
            sanitized);
    }

    [Fact]
    public void The_stage_marker_is_never_inherited_from_the_current_environment()
    {
        Environment.SetEnvironmentVariable(StageMarker.Variable, "2:5:0123456789abcdef0123456789abcdef:");
        try
        {
            Assert.False(StageSpawner.CurrentEnvironment().ContainsKey(StageMarker.Variable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(StageMarker.Variable, null);
        }
    }

    [Fact]
    public void Notify_lines_are_split_and_read_as_the_manager_does()
    {
        // The launcher's readiness socket reads with the same code as SdDaemon.Testing (spec N-7, N-8).
        IReadOnlyList<string> lines = NotifyDatagramReader.Split("READY=1\r\nSTATUS=a\\\nb\n\nSTATUS=c\0"u8, out string? dropReason)!;
        Assert.Null(dropReason);
        Assert.Equal(["READY=1", "STATUS=a\nb", "STATUS=c"], lines);
        Assert.Equal("a\nb", NotifyDatagramReader.Get(lines, "STATUS"));
        Assert.Null(NotifyDatagramReader.Get(lines, "STATU"));
        Assert.Null(NotifyDatagramReader.Split("READY=1\0STATUS=x"u8, out dropReason));
        Assert.Equal("embedded NUL byte", dropReason);
    }

    [Fact]
    public void Early_notifications_are_accepted_only_from_the_leaders_session_and_at_most_64()
    {
        int session = Interop.Libc.GetSid(0);
        int other = Environment.ProcessId;
        Assert.Equal(session != other, StartWatcher.IsEarlyDaemonMessage(other, session, 0));
        Assert.False(StartWatcher.IsEarlyDaemonMessage(other, session, StartWatcher.MaxEarlyMessages));
        Assert.False(StartWatcher.IsEarlyDaemonMessage(other, session + 1, 0)); // another session
        Assert.False(StartWatcher.IsEarlyDaemonMessage(0, session, 0));        // no credentials
        Assert.Equal(64, StartWatcher.MaxEarlyMessages);
    }

    [Theory]
    [InlineData(PosixSignal.SIGTERM, 15)]
    [InlineData(PosixSignal.SIGHUP, 1)]
    [InlineData(PosixSignal.SIGINT, 2)]
    [InlineData((PosixSignal)10, 10)]
    public void Signals_map_to_Linux_numbers(PosixSignal signal, int number)
    {
        Assert.Equal(number, DaemonControl.ToNumber(signal));
    }
}

public sealed class PidFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sdd-pidfile-").FullName;

    private string PathName => Path.Combine(_directory, "d.pid");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("123\n", 123)]
    [InlineData("123", 123)]
    [InlineData("", 0)]
    [InlineData("0\n", 0)]
    [InlineData("-5\n", 0)]
    [InlineData(" 12\n", 0)]
    [InlineData("12x\n", 0)]
    [InlineData("99999999999\n", 0)]
    public void Parses_only_a_plain_decimal_pid(string text, int pid)
    {
        Assert.Equal(pid, PidFile.ParsePid(text));
    }

    [Fact]
    public void Acquire_writes_the_pid_with_mode_0644_locks_it_and_removes_it_on_dispose()
    {
        using (PidFile file = PidFile.Acquire(PathName, Environment.ProcessId))
        {
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(PathName));
            Assert.Equal((UnixFileMode)0x1A4, File.GetUnixFileMode(PathName));
            Assert.Equal(Interop.Libc.FD_CLOEXEC, Interop.Libc.Fcntl(file.Fd, Interop.Libc.F_GETFD, 0) & Interop.Libc.FD_CLOEXEC);

            // OFD locks conflict between open file descriptions even in one process: a second acquire fails, naming us.
            DaemonAlreadyRunningException e = Assert.Throws<DaemonAlreadyRunningException>(() => PidFile.Acquire(PathName, 1));
            Assert.Equal(Environment.ProcessId, e.Pid);
            Assert.Equal($"already running as pid {Environment.ProcessId} (PID file '{PathName}' is locked)", e.Message);

            PidFileStatus status = PidFile.Inspect(PathName);
            Assert.Equal((true, Environment.ProcessId), (status.Running, status.Pid));
            Assert.True(DaemonControl.TryFindRunning(PathName, out int pid, out _));
            Assert.Equal(Environment.ProcessId, pid);
        }

        Assert.False(File.Exists(PathName));
        Assert.Equal($"not running: PID file '{PathName}' does not exist",
            Assert.Throws<DaemonNotRunningException>(() => DaemonControl.FindRunning(PathName)).Message);
    }

    [Fact]
    public void A_stale_file_is_reported_and_taken_over()
    {
        File.WriteAllText(PathName, "4194303\n");
        PidFileStatus status = PidFile.Inspect(PathName);
        Assert.False(status.Running);
        Assert.Equal($"PID file '{PathName}' is stale: no process holds its lock (it names pid 4194303)", status.Message);

        using PidFile file = PidFile.Acquire(PathName, 4242);
        Assert.Equal("4242\n", File.ReadAllText(PathName));
    }

    [Fact]
    public void A_symbolic_link_is_refused()
    {
        string target = Path.Combine(_directory, "target");
        File.WriteAllText(target, "");
        File.CreateSymbolicLink(PathName, target);
        IOException e = Assert.Throws<IOException>(() => PidFile.Acquire(PathName, 1));
        Assert.Contains("is a symbolic link", e.Message, StringComparison.Ordinal);
        Assert.Equal("", File.ReadAllText(target));
    }

    [Fact]
    public void A_directory_is_refused()
    {
        Directory.CreateDirectory(PathName);
        Assert.Throws<IOException>(() => PidFile.Acquire(PathName, 1));
    }

    [Fact]
    public void The_holder_is_found_by_its_open_descriptor_when_the_file_names_another_pid()
    {
        using PidFile file = PidFile.Acquire(PathName, Environment.ProcessId);
        File.WriteAllText(PathName, "1\n"); // pid 1 runs but does not have the file open; this process holds the lock
        PidFileStatus status = PidFile.Inspect(PathName);
        Assert.Equal((true, Environment.ProcessId), (status.Running, status.Pid));
    }

    [Fact]
    public void A_hard_linked_pid_file_is_refused_and_left_untouched()
    {
        string target = Path.Combine(_directory, "precious");
        File.WriteAllText(target, "secret\n");
        File.SetUnixFileMode(target, (UnixFileMode)0x180); // 0600
        Assert.Equal(0, Run("/bin/ln", target, PathName));
        IOException e = Assert.Throws<IOException>(() => PidFile.Acquire(PathName, 1));
        Assert.Equal($"PID file '{PathName}' has 2 hard links: refusing to use it (remove it if it is stale).", e.Message);
        Assert.Equal("secret\n", File.ReadAllText(target));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(target));
    }

    [Fact]
    public void A_pid_file_owned_by_another_user_is_refused_and_left_untouched()
    {
        if (Interop.Libc.GetEUid() != 0)
        {
            return; // only root can give a file away; the check is the same for everyone
        }

        File.WriteAllText(PathName, "1\n");
        File.SetUnixFileMode(PathName, (UnixFileMode)0x180);
        Assert.Equal(0, Run("/bin/chown", "65534", PathName));
        IOException e = Assert.Throws<IOException>(() => PidFile.Acquire(PathName, 1));
        Assert.Equal($"PID file '{PathName}' is owned by uid 65534, not by this process's uid 0: refusing to use it (remove it if it is stale).", e.Message);
        Assert.Equal("1\n", File.ReadAllText(PathName));
        Assert.Equal((UnixFileMode)0x180, File.GetUnixFileMode(PathName));
    }

    [Fact]
    public void A_process_that_only_has_the_file_open_is_not_reported_as_the_holder()
    {
        using PidFile file = PidFile.Acquire(PathName, Environment.ProcessId);
        // Like tail -f or a concurrent --status: the file open, no lock. Its pid is even in the file.
        using var reader = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", $"exec 3<'{PathName}'; exec sleep 60"]))!;
        try
        {
            var until = DateTime.UtcNow.AddSeconds(20);
            while (PidFileHolder.HoldsLock(reader.Id, Identity(PathName)) is null || !HasOpen(reader.Id, PathName))
            {
                Assert.True(DateTime.UtcNow < until, "the reader never opened the file");
                Thread.Sleep(20);
            }

            File.WriteAllText(PathName, $"{reader.Id}\n");
            Assert.False(PidFileHolder.HoldsLock(reader.Id, Identity(PathName)));
            Assert.True(PidFileHolder.HoldsLock(Environment.ProcessId, Identity(PathName)));
            PidFileStatus status = PidFile.Inspect(PathName);
            Assert.Equal((true, Environment.ProcessId), (status.Running, status.Pid));
        }
        finally
        {
            reader.Kill();
            reader.WaitForExit();
        }
    }

    [Theory]
    [InlineData("pos:\t0\nflags:\t02100002\nlock:\t1: OFDLCK  ADVISORY  WRITE -1 00:2e:1234 0 EOF\n", true)]  // O_RDWR: only the owner opens a 0644 file so
    [InlineData("pos:\t0\nflags:\t03100000\nlock:\t1: OFDLCK  ADVISORY  READ -1 00:2e:1234 0 EOF\n", true)]   // O_RDONLY|O_NOATIME: the daemon's own
    [InlineData("pos:\t0\nflags:\t02100000\nlock:\t1: OFDLCK  ADVISORY  READ -1 00:2e:1234 0 EOF\n", false)]  // a reader's shared lock
    [InlineData("pos:\t0\nflags:\t02100002\nlock:\t1: POSIX  ADVISORY  WRITE 42 00:2e:1234 0 EOF\n", false)]
    [InlineData("pos:\t0\nflags:\t03100000\nlock:\t1: FLOCK  ADVISORY  WRITE 42 00:2e:1234 0 EOF\n", false)]
    [InlineData("pos:\t0\nflags:\t02100002\nmnt_id:\t25\n", false)]
    public void Only_an_OFD_lock_on_a_description_the_owner_opened_counts(string fdinfo, bool holds)
    {
        Assert.Equal(holds, PidFileHolder.IsDaemonLock(fdinfo.Split('\n')));
    }

    [Fact]
    public void A_stale_file_is_removed_by_the_controller_only_when_it_names_the_stopped_pid_and_is_unlocked()
    {
        File.WriteAllText(PathName, "4194303\n");
        Assert.False(PidFile.RemoveStale(PathName, 4194302));
        Assert.True(File.Exists(PathName));
        using (PidFile.Acquire(PathName, 4194303))
        {
            Assert.False(PidFile.RemoveStale(PathName, 4194303)); // locked: a daemon runs
            Assert.True(File.Exists(PathName));
        }

        File.WriteAllText(PathName, "4194303\n");
        Assert.True(PidFile.RemoveStale(PathName, 4194303));
        Assert.False(File.Exists(PathName));
    }

    [Fact]
    public void A_FIFO_at_the_pid_file_path_is_refused_at_once_by_every_entry_point_and_left_in_place()
    {
        // Spec D-21; issue 10 item 3: an open without O_NONBLOCK blocks until a writer appears, i.e. forever.
        Assert.Equal(0, Run("/usr/bin/mkfifo", PathName));
        string expected = $"PID file '{PathName}' is not a regular file (a FIFO): refusing to use it.";
        try
        {
            Assert.Equal(expected, Bounded(() => PidFile.Acquire(PathName, 1)).Message);
            Assert.Equal("cannot tell whether a daemon runs: " + expected, Bounded(() => DaemonControl.FindRunning(PathName)).Message);
            Assert.Equal("cannot tell whether a daemon runs: " + expected, Bounded(() => DaemonControl.Stop(PathName, TimeSpan.FromSeconds(1))).Message);
            Assert.Equal("cannot tell whether a daemon runs: " + expected, Bounded(() => DaemonControl.TryFindRunning(PathName, out _, out _)).Message);
            Assert.Equal((PidFileState.Unknown, expected), (PidFile.Inspect(PathName).State, PidFile.Inspect(PathName).Message));
            Assert.Equal(Interop.Libc.S_IFIFO, Identity(PathName).Mode & Interop.Libc.S_IFMT); // untouched
        }
        finally
        {
            ReleaseBlockedReaders(PathName);
        }
    }

    [Fact]
    public void A_pid_file_that_cannot_be_opened_is_unknown_not_not_running()
    {
        // Spec D-21; issue 10 item 12: LSB 4 ("unknown"), not 3; here the path is a symbolic link (ELOOP), which is never followed.
        File.WriteAllText(Path.Combine(_directory, "target"), "4194303\n");
        File.CreateSymbolicLink(PathName, Path.Combine(_directory, "target"));
        IOException e = Assert.Throws<IOException>(() => DaemonControl.TryFindRunning(PathName, out _, out _));
        Assert.Equal($"cannot tell whether a daemon runs: PID file '{PathName}' is a symbolic link: refusing to follow it.", e.Message);
        Assert.Equal(Interop.Errno.ELOOP, e.HResult);
    }

    [Fact]
    public void The_daemon_holds_no_writable_descriptor_of_its_pid_file_and_its_read_only_lock_still_excludes_a_second_instance()
    {
        // Spec D-20; issue 10 item 4: a writable descriptor lets a compromised daemon write "1" into the file root signals.
        using PidFile file = PidFile.Acquire(PathName, Environment.ProcessId);
        Assert.Equal(Interop.Libc.O_RDONLY, Interop.Libc.Fcntl(file.Fd, Interop.Libc.F_GETFL, 0) & Interop.Libc.O_ACCMODE);
        Interop.FileIdentity identity = Identity(PathName);
        int[] open = Directory.EnumerateFileSystemEntries("/proc/self/fd")
            .Where(l => Interop.Libc.TryStat(-1, l, out Interop.FileIdentity i, out _) && i.SameFile(identity))
            .Select(l => int.Parse(Path.GetFileName(l), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal([file.Fd], open);
        Assert.Contains(File.ReadAllLines($"/proc/self/fdinfo/{file.Fd}"), l => l.StartsWith("lock:", StringComparison.Ordinal) && l.Contains("OFDLCK", StringComparison.Ordinal));

        Assert.Equal(Environment.ProcessId, Assert.Throws<DaemonAlreadyRunningException>(() => PidFile.Acquire(PathName, 1)).Pid);
        Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(PathName));
    }

    [Fact]
    public void A_read_lock_anyone_takes_on_a_stale_file_neither_counts_as_running_nor_blocks_the_restart()
    {
        // Spec D-18, D-19; issue 10 item 5: the file is world-readable, so any local user can take a shared OFD lock on it.
        File.WriteAllText(PathName, "4194303\n");
        using SafeFileHandle reader = TakeReadLock(PathName);
        PidFileStatus status = PidFile.Inspect(PathName);
        Assert.False(status.Running);
        Assert.Equal($"PID file '{PathName}' is stale: only readers lock it, its daemon's lock is gone (it names pid 4194303)", status.Message);
        Assert.False(DaemonControl.TryFindRunning(PathName, out _, out _));

        using (PidFile file = PidFile.Acquire(PathName, Environment.ProcessId))
        {
            Assert.Equal($"{Environment.ProcessId}\n", File.ReadAllText(PathName));
            Assert.True(DaemonControl.TryFindRunning(PathName, out int pid, out _));
            Assert.Equal(Environment.ProcessId, pid);
        }

        // The pid counts only with the daemon's lock: a reader's lock, even in the process the file names, does not.
        File.WriteAllText(PathName, $"{Environment.ProcessId}\n");
        using SafeFileHandle own = TakeReadLock(PathName);
        Assert.False(PidFile.Inspect(PathName).Running);
    }

    private static SafeFileHandle TakeReadLock(string path)
    {
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var request = new Interop.Libc.Flock { Type = Interop.Libc.F_RDLCK };
        unsafe
        {
            Assert.Equal(0, Interop.Libc.FcntlLock((int)handle.DangerousGetHandle(), Interop.Libc.F_OFD_SETLK, &request));
        }

        return handle;
    }

    /// <summary>Runs <paramref name="action"/> on its own thread; it must throw an IOException within 10 s (a hang fails the test).</summary>
    private static IOException Bounded(Action action)
    {
        var task = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(10))).Result == task, "blocked on the FIFO");
        return Assert.IsAssignableFrom<IOException>(task.Exception?.InnerException);
    }

    /// <summary>Unblocks anything still waiting in open() of the FIFO (a failing run of the test before the fix), so the test host goes on.</summary>
    private static unsafe void ReleaseBlockedReaders(string fifo)
    {
        // O_NONBLOCK: with a reader waiting the open succeeds (and completes theirs), without one it fails with ENXIO.
        fixed (byte* p = Interop.Libc.Utf8Z(fifo))
        {
            int writer = Interop.Libc.Open(p, Interop.Libc.O_WRONLY | Interop.Libc.O_NONBLOCK | Interop.Libc.O_CLOEXEC, 0);
            Interop.Libc.CloseQuietly(writer);
        }
    }

    private static Interop.FileIdentity Identity(string path)
    {
        Assert.True(Interop.Libc.TryStat(-1, path, out Interop.FileIdentity identity, out _));
        return identity;
    }

    private static bool HasOpen(int pid, string path)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Any(l => new FileInfo(l).LinkTarget == path);
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int Run(string program, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, arguments))!;
        process.WaitForExit();
        return process.ExitCode;
    }
}

public sealed class ChildProcessTests
{
    [Fact]
    public void A_spawned_child_is_reaped_with_its_exit_code_or_its_signal()
    {
        // The spawn and wait helpers the launcher and ActivationLauncher share, on real children.
        Assert.Equal((true, 3, 0, 3, "exit status 3"), Run("exit 3"));
        Assert.Equal((false, 0, 9, 137, "killed by signal 9"), Run("kill -9 $$"));
        Assert.Equal(-1, Interop.ChildProcess.Wait(1, block: false, out _)); // not our child (ECHILD)
    }

    [Fact]
    public void A_program_that_cannot_be_spawned_fails_with_its_errno()
    {
        using var spawn = new Interop.ProcessSpawn();
        IOException e = Assert.Throws<IOException>(() => spawn.Start("/nonexistent/program", [Interop.Libc.Utf8Z("program")], new Dictionary<string, string>(), "the program"));
        Assert.Equal("posix_spawn(the program) failed (errno 2: No such file or directory)", e.Message);
        Assert.Equal(2, e.HResult);
    }

    private static (bool Exited, int ExitCode, int Signal, int ShellExitCode, string Text) Run(string script)
    {
        int pid;
        using (var spawn = new Interop.ProcessSpawn())
        {
            pid = spawn.Start("/bin/sh", [.. new[] { "/bin/sh", "-c", script }.Select(Interop.Libc.Utf8Z)], new Dictionary<string, string>(), "sh");
        }

        Assert.Equal(pid, Interop.ChildProcess.Wait(pid, block: true, out Interop.WaitStatus status));
        return (status.Exited, status.Exited ? status.ExitCode : 0, status.Signal, status.ShellExitCode, status.ToString());
    }
}
