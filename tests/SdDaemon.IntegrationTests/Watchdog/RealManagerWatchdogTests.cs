using System.Diagnostics;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Watchdog;

/// <summary>The keep-alive against a real manager (every manager of the matrix; spec W-4, W-5).</summary>
public abstract class RealManagerWatchdogTests(IRealManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // TimeoutAbortSec=1s: the watchdog's SIGABRT does not end a .NET process (the runtime's SIGABRT
    // handler leaves it hanging; seen with .NET 10 here), so without it the manager would wait
    // TimeoutStopSec (90 s) before its SIGKILL. docs/activation-watchdog.md tells users the same.
    private void Run(string unit, string watchdogSec, params string[] steps) =>
        manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
                "-p", "WatchdogSec=" + watchdogSec, "-p", "Restart=on-failure", "-p", "RestartSec=100ms",
                "-p", "TimeoutAbortSec=1s",
                .. TestDaemon.Command(steps)])
            .EnsureSuccess("systemd-run");

    [RealManagerFact]
    public void W5_a_daemon_that_never_pings_is_restarted_which_is_what_the_keep_alive_prevents()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("wd-none");
        try
        {
            Run(unit, "1", "ready", "wait");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("1", manager.WaitForProperty(unit, "NRestarts", "1", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void W4_the_keep_alive_keeps_a_daemon_up_5s_while_its_thread_pool_is_starved()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("wd-keep");
        try
        {
            Run(unit, "1", "ready", "watchdog", "starve", "wait");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string pid = manager.Property(unit, "MainPID");
            Thread.Sleep(TimeSpan.FromSeconds(5));
            Dictionary<string, string> state = manager.Show(unit, "ActiveState", "NRestarts", "MainPID", "Result");
            Assert.Equal("active", state["ActiveState"]);
            Assert.Equal("0", state["NRestarts"]);
            Assert.Equal(pid, state["MainPID"]);
            Assert.Equal("success", state["Result"]);
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void W4_an_unhealthy_daemon_stops_pinging_and_is_restarted()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("wd-sick");
        try
        {
            Run(unit, "1", "ready", "watchdog-unhealthy-after=1500", "wait");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            var clock = Stopwatch.StartNew();
            Assert.Equal("1", manager.WaitForProperty(unit, "NRestarts", "1", Patience));
            // Healthy for 1.5 s, then killed within the 1 s timeout after the last ping.
            Assert.InRange(clock.Elapsed.TotalSeconds, 1.0, 6.0);
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void W7_ChangeTimeout_at_run_time_is_what_the_manager_enforces_and_the_keep_alive_pings_at_half_of_it()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("wd-change");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-wdchange-"), "out");
        try
        {
            // WatchdogSec=1s, then WATCHDOG_USEC=6 s: the keep-alive pings every 3 s from then on, which
            // the manager would punish (a restart within 1 s of the last ping) had it not taken the change.
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
                    "-p", "WatchdogSec=1", "-p", "Restart=on-failure", "-p", "RestartSec=100ms", "-p", "TimeoutAbortSec=1s",
                    "-p", $"StandardOutput=append:{output}",
                    .. TestDaemon.Command("ready", "watchdog", "watchdog-change=6000", "status=changed", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("changed", manager.WaitForProperty(unit, "StatusText", "changed", Patience));
            Assert.Equal("6s", manager.Property(unit, "WatchdogUSec"));
            string pid = manager.Property(unit, "MainPID");
            Thread.Sleep(TimeSpan.FromSeconds(8));
            Dictionary<string, string> state = manager.Show(unit, "ActiveState", "NRestarts", "MainPID", "Result");
            Assert.Equal(("active", "0", pid, "success"), (state["ActiveState"], state["NRestarts"], state["MainPID"], state["Result"]));
            Assert.Contains("watchdog-change: sent timeout=00:00:06 interval=00:00:03\n", File.ReadAllText(output), StringComparison.Ordinal);
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void W4_WATCHDOG_trigger_fails_the_service_at_once()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("wd-trig");
        try
        {
            // A 60 s timeout: only the trigger can explain a restart within seconds.
            Run(unit, "60", "ready", "watchdog", "sleep=300", "watchdog-trigger", "wait");
            var clock = Stopwatch.StartNew();
            Assert.Equal("1", manager.WaitForProperty(unit, "NRestarts", "1", Patience));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"restarted after {clock.Elapsed}");
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}

[Collection(SystemdCollection.Name)]
public sealed class RealManagerWatchdogTestsUserManager(SystemdUserManager manager) : RealManagerWatchdogTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class RealManagerWatchdogTests252(Systemd252Pid1 manager) : RealManagerWatchdogTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class RealManagerWatchdogTests257(Systemd257Pid1 manager) : RealManagerWatchdogTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class RealManagerWatchdogTests262(Systemd262Pid1 manager) : RealManagerWatchdogTests(manager);
