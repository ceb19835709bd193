using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>Notifications against a real manager (every manager of the matrix).</summary>
public abstract class RealManagerNotifyTests(IRealManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [RealManagerFact]
    public void TypeNotify_unit_is_activating_until_READY_and_active_after_with_its_STATUS_text()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("ready");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
                .. TestDaemon.Command("status=warming up", "sleep=1500", "ready", "status=serving 42 requests", "wait")])
                .EnsureSuccess("systemd-run");

            Assert.Equal("activating", manager.WaitForProperty(unit, "ActiveState", "activating", Patience));
            Assert.Equal("warming up", manager.WaitForProperty(unit, "StatusText", "warming up", Patience));
            Assert.Equal("activating", manager.Property(unit, "ActiveState"));

            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("serving 42 requests", manager.WaitForProperty(unit, "StatusText", "serving 42 requests", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void ServiceManager_Booted_is_true_for_a_service_of_the_manager()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("booted");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-booted-"), "out");
        try
        {
            // /run/systemd/system exists where the manager runs (the user manager's tmpfs, or PID 1's own).
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("booted", "ready", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("booted: True", TestDaemon.WaitForLine(output, "booted: ", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void EXTEND_TIMEOUT_USEC_keeps_a_unit_with_TimeoutStartSec_3_starting_past_those_seconds()
    {
        manager.EnsureRunning();
        string extended = TestDaemon.UniqueUnit("extend");
        string control = TestDaemon.UniqueUnit("noextend");
        try
        {
            // Three seconds, not one: a loaded machine (CI runs the managers of the matrix side by
            // side) can take over a second to start .NET, before the daemon can send anything.
            manager.SystemdRun(["--unit", extended, "-p", "Type=notify", "-p", "TimeoutStartSec=3",
                .. TestDaemon.Command("extend=10000000", "sleep=4500", "ready", "wait")]).EnsureSuccess("systemd-run");
            // The same daemon without the extension: the manager kills it after three seconds.
            manager.SystemdRun(["--unit", control, "-p", "Type=notify", "-p", "TimeoutStartSec=3",
                .. TestDaemon.Command("sleep=4500", "ready", "wait")]).EnsureSuccess("systemd-run");

            Assert.Equal("active", manager.WaitForProperty(extended, "ActiveState", "active", Patience));
            // It became active more than TimeoutStartSec=3 after it started, and was not killed.
            Dictionary<string, string> times = manager.Show(extended, "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic");
            long startingFor = long.Parse(times["ActiveEnterTimestampMonotonic"], System.Globalization.CultureInfo.InvariantCulture)
                - long.Parse(times["ExecMainStartTimestampMonotonic"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(startingFor, 4_500_000, 14_000_000);
            Assert.Equal("0", manager.Property(extended, "NRestarts"));
            Assert.Equal("timeout", manager.WaitForProperty(control, "Result", "timeout", Patience));
        }
        finally
        {
            manager.Cleanup(extended);
            manager.Cleanup(control);
        }
    }

    [RealManagerFact]
    public void FDSTORE_with_FDNAME_is_kept_by_the_manager_and_passed_back_by_name_after_a_restart()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("fdstore");
        string directory = manager.CreateSharedDirectory("sdd-fdstore-");
        string stored = Path.Combine(directory, "stored-file");
        string environment = Path.Combine(directory, "env");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "FileDescriptorStoreMax=4",
                .. TestDaemon.Command($"fdstore-new=web:{stored}", $"env={environment}", "ready", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));

            manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string[] instances = File.ReadAllText(environment).Split("---\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, instances.Length);
            Assert.Contains("LISTEN_FDS=\n", instances[0]);
            Assert.Contains("LISTEN_FDS=1\n", instances[1]);
            Assert.Contains("LISTEN_FDNAMES=web\n", instances[1]);
            string pid = instances[1].Split('\n').Single(l => l.StartsWith("PID=", StringComparison.Ordinal))[4..];
            Assert.Contains($"LISTEN_PID={pid}\n", instances[1]);
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));
        }
        finally
        {
            manager.Cleanup(unit);
            Directory.Delete(directory, recursive: true);
        }
    }

    [RealManagerFact]
    public void FDSTOREREMOVE_removes_the_named_fds_from_the_store()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("fdremove");
        string directory = manager.CreateSharedDirectory("sdd-fdremove-");
        string go = Path.Combine(directory, "go");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "FileDescriptorStoreMax=4",
                .. TestDaemon.Command($"fdstore=db:{Path.Combine(directory, "a")}", $"fdstore=cache:{Path.Combine(directory, "b")}", "ready",
                    $"await={go}", "fdremove=db", "status=removed", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("2", manager.WaitForProperty(unit, "NFileDescriptorStore", "2", Patience));

            File.WriteAllText(go, "");
            Assert.Equal("removed", manager.WaitForProperty(unit, "StatusText", "removed", Patience));
            Assert.Equal("1", manager.WaitForProperty(unit, "NFileDescriptorStore", "1", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
            Directory.Delete(directory, recursive: true);
        }
    }

    [RealManagerFact]
    public void The_barrier_returns_once_the_manager_has_processed_the_messages_sent_before_it()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("barrier");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-barrier-"), "out");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("ready", "status-burst=2000", "barrier=10000", $"show={unit}:StatusText", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            // 2000 datagrams queue up at the manager; once the barrier returned, it has read them all.
            string text = TestDaemon.WaitForLine(output, "show: ", Patience);
            Assert.Contains("status-burst: sent\nbarrier: sent\n", File.ReadAllText(output));
            Assert.Equal("show: burst 2000", text);
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void MAINPID_sent_with_the_childs_credentials_makes_the_child_the_main_process()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("mainpid");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-mainpid-"), "out");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=all", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("ready", "mainpid-child", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string line = TestDaemon.WaitForLine(output, "mainpid-child: ", Patience);
            string childPid = line.Split(' ')[1];
            Assert.EndsWith(" sent", line, StringComparison.Ordinal);
            Assert.Equal(childPid, manager.WaitForProperty(unit, "MainPID", childPid, Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void N10_credentials_of_a_child_are_what_the_manager_sees_so_NotifyAccess_main_ignores_them()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("childcred");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-childcred-"), "out");
        try
        {
            // If SCM_CREDENTIALS were not sent (or the kernel's were used), the manager would take
            // the status from the main process and show it.
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("status=from main", "ready", "status-as-child=from the child", "barrier=5000", $"show={unit}:StatusText", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.EndsWith(" sent", TestDaemon.WaitForLine(output, "status-as-child: ", Patience), StringComparison.Ordinal);
            Assert.Equal("show: from main", TestDaemon.WaitForLine(output, "show: ", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}

[Collection(SystemdCollection.Name)]
public sealed class RealManagerNotifyTestsUserManager(SystemdUserManager manager) : RealManagerNotifyTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class RealManagerNotifyTests252(Systemd252Pid1 manager) : RealManagerNotifyTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class RealManagerNotifyTests257(Systemd257Pid1 manager) : RealManagerNotifyTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class RealManagerNotifyTests262(Systemd262Pid1 manager) : RealManagerNotifyTests(manager);
