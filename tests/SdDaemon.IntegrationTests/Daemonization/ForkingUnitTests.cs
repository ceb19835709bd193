using System.Globalization;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Daemonization;

/// <summary>The classic daemon under a real manager (every manager of the matrix) as a
/// Type=forking unit with PIDFile=. Pids are read where the services run: the container has its
/// own pid namespace.</summary>
public abstract class ForkingUnitTests(IRealManager manager) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = manager.CreateSharedDirectory("sdd-forking-");

    public void Dispose()
    {
        // A daemon a failed test left behind: killed by its pid where it runs, never by a host pid.
        string pidFile = Path.Combine(_directory, "daemon.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid)
            && RealManager.ReadProc(manager, pid, "cmdline") is { } command && command.Contains("ClassicDaemon", StringComparison.Ordinal))
        {
            manager.InNamespace("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture));
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }

    [RealManagerFact]
    public void Type_forking_unit_reports_the_daemon_as_MainPID_from_the_PID_file_and_stops_it() => RunForkingUnit([], expectedUid: null);

    /// <summary>The unit's User=: the manager starts the daemon as that user, which then writes
    /// the PID file itself (a user manager cannot change users; PID 1 can).</summary>
    protected void RunForkingUnit(string[] properties, string? expectedUid)
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("forking");
        string pidFile = Path.Combine(_directory, "daemon.pid");
        string log = Path.Combine(_directory, "daemon.log");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=forking", "-p", $"PIDFile={pidFile}", .. properties,
                TestDaemon.DotnetPath, ClassicDaemon.DllPath, "--daemon", "--pidfile", pidFile, "--log", log, "--ready-delay", "500"])
                .EnsureSuccess("systemd-run");

            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            int pid = ClassicDaemon.ReadPidFile(pidFile);
            Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), manager.Property(unit, "MainPID"));
            Assert.Equal("running", manager.Property(unit, "SubState"));
            // The manager is a subreaper (or init): the orphaned daemon is its child now; and it is not a session leader.
            Assert.Equal(manager.ManagerPidSeenByServices.ToString(CultureInfo.InvariantCulture), RealManager.ProcStatus(manager, pid, "PPid"));
            Assert.NotEqual(pid.ToString(CultureInfo.InvariantCulture), RealManager.ProcStat(manager, pid)![3]);
            if (expectedUid is not null)
            {
                Assert.Equal($"{expectedUid}\t{expectedUid}\t{expectedUid}\t{expectedUid}", RealManager.ProcStatus(manager, pid, "Uid"));
            }

            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            Assert.True(RealManager.WaitForExit(manager, pid, Patience));
            Assert.False(File.Exists(pidFile));
            Assert.EndsWith("ready\nstopping\n", File.ReadAllText(log), StringComparison.Ordinal);
            Assert.Equal("inactive", manager.WaitForProperty(unit, "ActiveState", "inactive", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}

/// <summary>What only PID 1 can do: start the daemon as another user.</summary>
public abstract class Pid1ForkingUnitTests(Pid1Container manager) : ForkingUnitTests(manager)
{
    [RealManagerFact]
    public void Type_forking_unit_with_User_nobody_runs_the_daemon_as_nobody_with_its_PID_file() =>
        RunForkingUnit(["-p", "User=nobody"], expectedUid: "65534");
}

[Collection(SystemdCollection.Name)]
public sealed class ForkingUnitTestsUserManager(SystemdUserManager manager) : ForkingUnitTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class ForkingUnitTests252(Systemd252Pid1 manager) : Pid1ForkingUnitTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class ForkingUnitTests257(Systemd257Pid1 manager) : Pid1ForkingUnitTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class ForkingUnitTests262(Systemd262Pid1 manager) : Pid1ForkingUnitTests(manager);
