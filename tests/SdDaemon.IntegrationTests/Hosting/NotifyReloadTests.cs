using SdDaemon.IntegrationTests.Infrastructure;
using SdDaemon.IntegrationTests.Logging;
using Xunit;

namespace SdDaemon.IntegrationTests.Hosting;

/// <summary>
/// Type=notify-reload (systemd 253) against a manager that speaks it: systemd 257 and 262 as PID 1
/// (252 predates it). <c>systemctl reload</c> sends SIGHUP and waits for RELOADING=1 with a
/// MONOTONIC_USEC no older than its signal, then READY=1.
/// </summary>
public abstract class NotifyReloadTests(Pid1Container manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [RealManagerFact]
    public void Systemctl_reload_of_the_WebApp_completes_with_ReloadResult_success_and_keeps_its_main_process()
    {
        manager.EnsureRunning();
        int port = WebAppLifecycleTests.FreePort();
        string unit = TestDaemon.UniqueUnit("webreload");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify-reload", "-p", "StandardError=journal",
                .. WebAppLifecycleTests.WebApp(port)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string pid = manager.Property(unit, "MainPID");

            // systemctl reload waits for the reload job: it returns once READY=1 came back.
            manager.Systemctl("reload", unit).EnsureSuccess("systemctl reload");
            manager.Systemctl("reload", unit).EnsureSuccess("systemctl reload (again)");
            Dictionary<string, string> state = manager.Show(unit, "ReloadResult", "ActiveState", "SubState", "MainPID", "NRestarts", "StatusText");
            Assert.Equal("success", state["ReloadResult"]);
            Assert.Equal("active", state["ActiveState"]);
            Assert.Equal("running", state["SubState"]);
            Assert.Equal(pid, state["MainPID"]);
            Assert.Equal("0", state["NRestarts"]);
            Assert.Equal("serving", state["StatusText"]);
            Assert.Equal($"hello from {pid}\n", WebAppLifecycleTests.Get(port));

            var entries = JournaldInNamespace.Matching(manager, e => e.Count(x => x["MESSAGE"] == "Configuration reloaded") >= 2, "_PID=" + pid);
            Assert.Equal(2, entries.Count(e => e["MESSAGE"] == "Configuration reloaded"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void A_reload_whose_handler_throws_still_completes_and_says_so_in_STATUS_and_the_journal()
    {
        manager.EnsureRunning();
        int port = WebAppLifecycleTests.FreePort();
        string unit = TestDaemon.UniqueUnit("webreloadfail");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify-reload", "-p", "StandardError=journal",
                .. WebAppLifecycleTests.WebApp(port)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string pid = manager.Property(unit, "MainPID");
            Assert.Equal("the next reload fails\n", WebAppLifecycleTests.Get(port, "/fail-next-reload"));

            // The protocol (up to 262) has no "reload failed": READY=1 ends the reload, and the
            // manager records success. The host says what happened in STATUS= and logs the error;
            // it keeps serving with the configuration it had.
            manager.Systemctl("reload", unit).EnsureSuccess("systemctl reload");
            Dictionary<string, string> state = manager.Show(unit, "ReloadResult", "ActiveState", "MainPID", "StatusText");
            Assert.Equal("success", state["ReloadResult"]);
            Assert.Equal("active", state["ActiveState"]);
            Assert.Equal(pid, state["MainPID"]);
            Assert.Equal("reload failed: asked to fail", state["StatusText"]);
            Assert.Equal($"hello from {pid}\n", WebAppLifecycleTests.Get(port));
            var entries = JournaldInNamespace.Matching(manager, e => e.Any(x => x["MESSAGE"].StartsWith("Reload failed", StringComparison.Ordinal)), "_PID=" + pid);
            Dictionary<string, string> failed = Assert.Single(entries, e => e["MESSAGE"].StartsWith("Reload failed", StringComparison.Ordinal));
            Assert.Equal("3", failed["PRIORITY"]);
            Assert.Equal("System.InvalidOperationException", failed["EXCEPTION_TYPE"]);

            // The next reload succeeds and the status is back.
            manager.Systemctl("reload", unit).EnsureSuccess("systemctl reload");
            Assert.Equal("serving", manager.Property(unit, "StatusText"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void MONOTONIC_USEC_of_now_is_accepted_while_a_stale_one_is_ignored_and_the_reload_times_out()
    {
        manager.EnsureRunning();
        string fresh = TestDaemon.UniqueUnit("reloadnow");
        string stale = TestDaemon.UniqueUnit("reloadstale");
        string directory = manager.CreateSharedDirectory("sdd-reload-");
        try
        {
            // TimeoutStartSec= also bounds a reload.
            foreach ((string unit, string mode) in new[] { (fresh, "now"), (stale, "stale") })
            {
                manager.SystemdRun(["--unit", unit, "-p", "Type=notify-reload", "-p", "TimeoutStartSec=5",
                    "-p", $"StandardOutput=append:{Path.Combine(directory, mode)}",
                    .. TestDaemon.Command($"reload-on-hup={mode}", "ready", "wait")]).EnsureSuccess("systemd-run");
            }

            Assert.Equal("active", manager.WaitForProperty(fresh, "ActiveState", "active", Patience));
            Assert.Equal("active", manager.WaitForProperty(stale, "ActiveState", "active", Patience));

            // NotifyState.MonotonicUsec() reads the clock the manager compares with (CLOCK_MONOTONIC).
            manager.Systemctl("reload", fresh).EnsureSuccess("systemctl reload");
            Assert.Equal("success", manager.Property(fresh, "ReloadResult"));

            // The control: the same messages with a timestamp from before the signal are taken for an
            // older reload, so the manager keeps waiting until the timeout.
            ProcessResult timedOut = manager.Systemctl("reload", stale);
            Assert.NotEqual(0, timedOut.ExitCode);
            Assert.Equal("timeout", manager.Property(stale, "ReloadResult"));
            Assert.Contains("reloading: sent\nreloaded: sent\n", File.ReadAllText(Path.Combine(directory, "stale")), StringComparison.Ordinal);
            Assert.Contains("reloading: sent\nreloaded: sent\n", File.ReadAllText(Path.Combine(directory, "now")), StringComparison.Ordinal);
        }
        finally
        {
            manager.Cleanup(fresh);
            manager.Cleanup(stale);
        }
    }
}

[Collection(Pid1Systemd257Collection.Name)]
public sealed class NotifyReloadTests257(Systemd257Pid1 manager) : NotifyReloadTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class NotifyReloadTests262(Systemd262Pid1 manager) : NotifyReloadTests(manager);
