using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>Notifications against the real systemd 252 user manager.</summary>
[Collection(SystemdCollection.Name)]
public sealed class RealManagerNotifyTests(SystemdUserManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [SystemdFact]
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
}
