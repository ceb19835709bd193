using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>
/// The notify keys newer than 252, against systemd as PID 1 on 252, 257 and 262: each takes effect
/// from the version that added it (sd_notify(3)) and older managers ignore it (spec N-8), which is
/// what the library promises for keys a manager does not know.
/// </summary>
public abstract class NewerProtocolTests(Pid1Container manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [RealManagerFact]
    public void ERRNO_BUSERROR_and_VARLINKERROR_are_what_systemctl_show_reports()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("failure");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", .. TestDaemon.Command("ready", "failure", "status=failed", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("failed", manager.WaitForProperty(unit, "StatusText", "failed", Patience));
            Dictionary<string, string> state = manager.Show(unit, "StatusErrno", "StatusBusError", "StatusVarlinkError");
            Assert.Equal("22", state["StatusErrno"]);
            // 252 shows no StatusBusError (systemctl show leaves out what is empty); 257 and 262 do.
            Assert.Equal(manager.Version >= 257 ? "org.freedesktop.DBus.Error.TimedOut" : "", state.GetValueOrDefault("StatusBusError", ""));
            // VARLINKERROR= since 257; 252 has no such property at all.
            Assert.Equal(manager.Version >= 257 ? "org.varlink.service.InvalidParameter" : "", state.GetValueOrDefault("StatusVarlinkError", ""));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void NOTIFYACCESS_all_at_run_time_lets_a_child_of_a_NotifyAccess_main_unit_set_the_status_since_254()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("notifyaccess");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
                .. TestDaemon.Command("status=from main", "ready", "notify-access=all", "status-as-child=from the child", "status-as-child=again", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string expected = manager.Version >= 254 ? "again" : "from main";
            Assert.Equal(expected, manager.WaitForProperty(unit, "StatusText", expected, Patience));
            Assert.Equal(manager.Version >= 254 ? "all" : "main", manager.Property(unit, "NotifyAccess"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void RESTART_RESET_sets_NRestarts_back_to_0_since_258()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("restartreset");
        string failures = Path.Combine(manager.CreateSharedDirectory("sdd-restartreset-"), "failures");
        try
        {
            // The first two instances fail at once; the third is healthy and resets the counter.
            string daemon = string.Join(' ', TestDaemon.Command("ready", "status=healthy", "restart-reset", "wait"));
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "Restart=on-failure", "-p", "RestartSec=100ms",
                "/bin/sh", "-c", $"if [ $(cat {failures} 2>/dev/null | wc -l) -lt 2 ]; then echo failed >> {failures}; exit 1; fi; exec {daemon}"])
                .EnsureSuccess("systemd-run");
            Assert.Equal("healthy", manager.WaitForProperty(unit, "StatusText", "healthy", Patience));
            Assert.Equal(["failed", "failed"], File.ReadAllLines(failures));
            string expected = manager.Version >= 258 ? "0" : "2";
            Assert.Equal(expected, manager.WaitForProperty(unit, "NRestarts", expected, Patience));
            Assert.Equal("active", manager.Property(unit, "ActiveState"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class NewerProtocolTests252(Systemd252Pid1 manager) : NewerProtocolTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class NewerProtocolTests257(Systemd257Pid1 manager) : NewerProtocolTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class NewerProtocolTests262(Systemd262Pid1 manager) : NewerProtocolTests(manager);
