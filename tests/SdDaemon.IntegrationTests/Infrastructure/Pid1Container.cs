using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>
/// systemd as PID 1 in a systemd-nspawn container (shared/spec/REAL-PEERS.md, "systemd as PID 1"),
/// with its system bus, logind and journald: one boot per systemd version per test run (a
/// collection fixture), always powered off at the end, also when tests fail.
/// <para>
/// The root is a minimal Debian root built once and cached on the machine by <c>.ci/pid1-root</c>;
/// it boots with <c>--volatile=overlay</c>, so the cached root is never changed and several runs
/// can share it. The repository is bound read-only at its own path and a scratch directory
/// read-write at its own path, so that a path means the same inside and outside: the tests'
/// published programs run inside as they are, with the host's .NET (bound at /usr/share/dotnet).
/// </para>
/// </summary>
public abstract class Pid1Container : IRealManager, IDisposable
{
    // About 10 s on an idle machine; seen over 90 s at a load average of 30 (helpers and CI side by side).
    private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(240);
    private readonly Process? _nspawn;
    private readonly string _consoleLog = "";

    /// <param name="suite">The Debian suite whose systemd boots: bookworm (252), trixie (257), sid (262).</param>
    /// <param name="expectedVersion">The systemd major version that suite must have.</param>
    /// <param name="role">Distinguishes a container booted for one test (e.g. one that powers off)
    /// from the collection's, in the machine name.</param>
    protected Pid1Container(string suite, int expectedVersion, string role = "")
    {
        Suite = suite;
        ExpectedVersion = expectedVersion;
        if (Peers.Pid1UnavailableReason is { } reason)
        {
            UnavailableReason = reason;
            return;
        }

        string repository = RepositoryRoot;
        ProcessResult root = ProcessRunner.Run("/bin/bash", [Path.Combine(repository, ".ci", "pid1-root"), suite], timeout: TimeSpan.FromMinutes(10));
        if (root.ExitCode != 0)
        {
            UnavailableReason = $"building the {suite} root failed ({root.ExitCode}): {root.Stderr.Trim()}";
            return;
        }

        RootDirectory = root.Stdout.Trim();
        ScratchDirectory = Directory.CreateTempSubdirectory($"sdd-pid1-{suite}-").FullName;
        File.SetUnixFileMode(ScratchDirectory, (UnixFileMode)0x1FF); // 0777: units with User= write here too
        _consoleLog = Path.Combine(ScratchDirectory, "console.log");
        MachineName = $"sdd-{suite}{role}-{Environment.ProcessId}";

        var info = new ProcessStartInfo("/usr/bin/systemd-nspawn")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string argument in new[]
        {
            "-D", RootDirectory, "-M", MachineName, "-b", "--volatile=overlay",
            "--register=no", "--keep-unit", "--link-journal=no",
            "--bind-ro=/usr/share/dotnet", $"--bind-ro={repository}", $"--bind={ScratchDirectory}",
        })
        {
            info.ArgumentList.Add(argument);
        }

        // systemd >= 258 refuses cgroup v1 and the host is hybrid: force the unified hierarchy.
        info.Environment["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY"] = "1";
        info.Environment.Remove("NOTIFY_SOCKET");
        _nspawn = Process.Start(info)!;
        _nspawn.StandardInput.Close();
        var console = new StreamWriter(_consoleLog) { AutoFlush = true };
        _nspawn.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (console) { console.WriteLine(e.Data); } } };
        _nspawn.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (console) { console.WriteLine(e.Data); } } };
        _nspawn.BeginOutputReadLine();
        _nspawn.BeginErrorReadLine();

        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < BootTimeout && !_nspawn.HasExited)
        {
            // nspawn forks helpers before the child that becomes init: only a child that already
            // runs systemd is the leader, and one that went away is looked for again.
            if (LeaderPid == 0 || !File.Exists($"/proc/{LeaderPid}/comm"))
            {
                LeaderPid = FindChild(_nspawn.Id, "systemd");
            }
            else
            {
                // "running" or "degraded" (a unit of the minimal root failed): both are booted.
                string state = Exec("systemctl", "is-system-running").Stdout.Trim();
                if (state is "running" or "degraded")
                {
                    Version = int.Parse(Exec("systemctl", "show", "-p", "Version", "--value").Stdout.Trim().Split('.', '~', ' ')[0], CultureInfo.InvariantCulture);
                    if (Version != expectedVersion)
                    {
                        UnavailableReason = $"the {suite} root boots systemd {Version}, expected {expectedVersion}";
                    }

                    return;
                }
            }

            Thread.Sleep(200);
        }

        UnavailableReason = $"systemd {expectedVersion} ({suite}) did not boot within {BootTimeout.TotalSeconds} s: {ConsoleLog}";
        Dispose();
    }

    /// <summary>The Debian suite the root comes from.</summary>
    public string Suite { get; }

    /// <summary>The systemd major version this container must run.</summary>
    public int ExpectedVersion { get; }

    /// <summary>The systemd major version that booted (0 before it did).</summary>
    public int Version { get; }

    /// <summary>Null when PID 1 runs; otherwise why not.</summary>
    public string? UnavailableReason { get; }

    /// <summary>The cached root (never written: the container runs on an overlay).</summary>
    public string RootDirectory { get; } = "";

    /// <summary>A directory bound read-write at the same path inside and outside.</summary>
    public string ScratchDirectory { get; } = "";

    public string MachineName { get; } = "";

    /// <summary>The host pid of the container's systemd (PID 1 inside).</summary>
    public int LeaderPid { get; private set; }

    public string Name => $"systemd {ExpectedVersion} as PID 1";

    public string ConsoleLog => File.Exists(_consoleLog) ? File.ReadAllText(_consoleLog) : "";

    /// <summary>The folder holding SdDaemon.sln (bound read-only at the same path inside).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Fails the test (never skips) when PID 1 is not running.</summary>
    public void EnsureRunning() => Assert.True(UnavailableReason is null, $"{Name}: {UnavailableReason}");

    /// <summary>Runs a program inside the container (all its namespaces), bounded.</summary>
    public ProcessResult Exec(params string[] command) => ExecWithTimeout(TimeSpan.FromSeconds(60), command);

    public ProcessResult ExecWithTimeout(TimeSpan timeout, params string[] command) =>
        ProcessRunner.Run("/usr/bin/nsenter", ["-t", LeaderPid.ToString(CultureInfo.InvariantCulture), "-a", .. command], ClientEnvironment, timeout);

    private static Dictionary<string, string?> ClientEnvironment => new()
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["XDG_RUNTIME_DIR"] = null,
        ["DBUS_SESSION_BUS_ADDRESS"] = null,
        ["NOTIFY_SOCKET"] = null,
        ["SYSTEMD_PAGER"] = "",
        ["SYSTEMD_COLORS"] = "0",
        ["LANG"] = "C.UTF-8",
    };

    public ProcessResult Systemctl(params string[] arguments) => Exec(["systemctl", "--no-pager", .. arguments]);

    public ProcessResult SystemdRun(params string[] arguments) => Exec(["systemd-run", "--no-block", .. arguments]);

    public ProcessResult InNamespace(params string[] command) => Exec(command);

    public ProcessResult Journalctl(params string[] arguments) => Exec(["journalctl", "--no-pager", .. arguments]);

    /// <summary>The unit's journal (message text only) once it holds <paramref name="text"/>: journald may store a
    /// line some time after the daemon wrote it, so a check right after another observation can miss it.</summary>
    public string WaitForJournal(string unit, string text, TimeSpan patience)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            string journal = Journalctl("-u", unit, "-o", "cat").Stdout;
            if (journal.Contains(text, StringComparison.Ordinal) || stopwatch.Elapsed > patience)
            {
                return journal;
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>Writes a unit file to /run/systemd/system inside (runtime units: gone with the
    /// overlay) and reloads the manager.</summary>
    public void InstallUnit(string name, string text)
    {
        string staged = Path.Combine(ScratchDirectory, name);
        File.WriteAllText(staged, text);
        Exec("cp", staged, $"/run/systemd/system/{name}").EnsureSuccess($"installing {name}");
        Systemctl("daemon-reload").EnsureSuccess("daemon-reload");
    }

    public Dictionary<string, string> Show(string unit, params string[] properties) =>
        RealManager.ParseShow(Systemctl(["show", unit, .. properties.SelectMany(p => new[] { "-p", p })]).EnsureSuccess("systemctl show").Stdout);

    public string Property(string unit, string property) => Show(unit, property).GetValueOrDefault(property, "");

    public string WaitForProperty(string unit, string property, string expected, TimeSpan timeout) =>
        RealManager.WaitForProperty(this, unit, property, expected, timeout);

    public int ManagerPidSeenByServices => 1;

    public string CreateSharedDirectory(string prefix) => RealManager.CreateSharedDirectory(ScratchDirectory, prefix);

    public void Cleanup(string unit)
    {
        Systemctl("stop", unit);
        Systemctl("reset-failed", unit);
    }

    /// <summary>Waits for the container to end by itself (after a power-off from inside).</summary>
    public bool WaitForExit(TimeSpan timeout) => _nspawn is null || _nspawn.WaitForExit(timeout);

    /// <summary>Powers the container off (bounded), then makes sure nspawn is gone.</summary>
    public void Dispose()
    {
        if (_nspawn is { HasExited: false })
        {
            if (LeaderPid != 0)
            {
                _ = ExecWithTimeout(TimeSpan.FromSeconds(10), "systemctl", "poweroff", "--no-block");
            }

            if (!_nspawn.WaitForExit(TimeSpan.FromSeconds(45)))
            {
                _nspawn.Kill(entireProcessTree: true);
                _nspawn.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }

        _nspawn?.Dispose();
        if (ScratchDirectory.Length > 0 && Environment.GetEnvironmentVariable("SDDAEMON_KEEP_PID1_LOGS") != "1")
        {
            try
            {
                Directory.Delete(ScratchDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        GC.SuppressFinalize(this);
    }

    private static int FindChild(int parent, string command)
    {
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out int pid))
            {
                continue;
            }

            try
            {
                // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
                string stat = File.ReadAllText(Path.Combine(directory, "stat"));
                string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(rest[1], CultureInfo.InvariantCulture) == parent
                    && File.ReadAllText(Path.Combine(directory, "comm")).TrimEnd('\n') == command)
                {
                    return pid;
                }
            }
            catch (IOException)
            {
            }
        }

        return 0;
    }

    private static string FindRepositoryRoot()
    {
        for (string? directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "SdDaemon.sln")))
            {
                return directory.TrimEnd('/');
            }
        }

        throw new InvalidOperationException($"no SdDaemon.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>systemd 252 (Debian bookworm) as PID 1.</summary>
public sealed class Systemd252Pid1() : Pid1Container("bookworm", 252);

/// <summary>systemd 257 (Debian trixie) as PID 1.</summary>
public sealed class Systemd257Pid1() : Pid1Container("trixie", 257);

/// <summary>systemd 262 (Debian sid) as PID 1.</summary>
public sealed class Systemd262Pid1() : Pid1Container("sid", 262);

/// <summary>The tests that use systemd 252 as PID 1: one container, one test at a time.</summary>
[CollectionDefinition(Name)]
public sealed class Pid1Systemd252Collection : ICollectionFixture<Systemd252Pid1>
{
    public const string Name = "systemd 252 as PID 1";
}

/// <summary>The tests that use systemd 257 as PID 1: one container, one test at a time.</summary>
[CollectionDefinition(Name)]
public sealed class Pid1Systemd257Collection : ICollectionFixture<Systemd257Pid1>
{
    public const string Name = "systemd 257 as PID 1";
}

/// <summary>The tests that use systemd 262 as PID 1: one container, one test at a time.</summary>
[CollectionDefinition(Name)]
public sealed class Pid1Systemd262Collection : ICollectionFixture<Systemd262Pid1>
{
    public const string Name = "systemd 262 as PID 1";
}
