using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Pid1;

/// <summary>The PID 1 fixture itself: the container boots the expected systemd with the system
/// bus, logind and journald up, and a .NET daemon from the repository runs in it as a
/// Type=notify service.</summary>
public abstract class Pid1BootTests(Pid1Container pid1)
{
    [Pid1Fact]
    public void Boots_the_expected_systemd_with_bus_logind_and_journald()
    {
        pid1.EnsureRunning();
        Assert.Equal(pid1.ExpectedVersion, pid1.Version);
        Assert.Equal("1", pid1.Exec("sh", "-c", "echo $$ >/dev/null; ps -o pid= -C systemd | head -n1").Stdout.Trim());
        foreach (string unit in new[] { "dbus.service", "systemd-logind.service", "systemd-journald.service" })
        {
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", TimeSpan.FromSeconds(20)));
        }
    }

    [Pid1Fact]
    public void A_TypeNotify_test_daemon_goes_active_with_its_STATUS()
    {
        pid1.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("pid1-ready");
        try
        {
            pid1.SystemdRun(["--unit", unit, "-p", "Type=notify", .. TestDaemon.Command("status=serving", "ready", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", TimeSpan.FromSeconds(30)));
            Assert.Equal("serving", pid1.Property(unit, "StatusText"));
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class Pid1BootTests252(Systemd252Pid1 pid1) : Pid1BootTests(pid1);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class Pid1BootTests257(Systemd257Pid1 pid1) : Pid1BootTests(pid1);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class Pid1BootTests262(Systemd262Pid1 pid1) : Pid1BootTests(pid1);
