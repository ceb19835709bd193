using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>
/// examples/DBusService as a Type=dbus user service under the systemd 252 user manager, on the user
/// bus ($XDG_RUNTIME_DIR/bus, a real dbus-daemon), busctl as the independent client (DB-4, DB-6).
/// </summary>
[Collection(SystemdCollection.Name)]
public sealed class UserManagerDBusTests(SystemdUserManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private ProcessResult Busctl(params string[] arguments) =>
        ProcessRunner.Run(SessionBus.BusctlPath, ["--address=" + manager.UserBusAddress, "--no-pager", .. arguments], timeout: TimeSpan.FromSeconds(20));

    private string? OwnerPid(string name)
    {
        ProcessResult r = Busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", name);
        return r.ExitCode == 0 ? r.Stdout.Trim().Split(' ')[1] : null;
    }

    [SystemdFact]
    public void A_TypeDbus_user_service_goes_active_once_its_name_is_on_the_user_bus_answers_busctl_and_releases_the_name_on_stop()
    {
        manager.EnsureRunning();
        Assert.True(File.Exists(SessionBus.DaemonPath), $"{SessionBus.DaemonPath} is not installed");
        string name = $"org.sddaemon.T{Guid.NewGuid():N}";
        string unit = $"sdd-userdbus-{Guid.NewGuid().ToString("N")[..8]}";
        manager.SystemdRun("--unit", unit, "-p", "Type=dbus", "-p", $"BusName={name}", "-p", "NotifyAccess=main",
            "-E", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1",
            TestDaemon.DotnetPath, Pid1DBusTests.ExampleDll, "--BusName", name, "--Bus", "User", "--StartDelayMs", "6000").EnsureSuccess("systemd-run");
        try
        {
            Assert.Equal("activating", manager.WaitForProperty(unit + ".service", "ActiveState", "activating", Patience));
            // Inside the 6 s start-up: the process runs, the name is not there yet (with 3 s, two
            // systemctl round trips and this second left a loaded machine about 1.5 s).
            Thread.Sleep(1000);
            Assert.Equal("activating", manager.Property(unit + ".service", "ActiveState"));
            Assert.Null(OwnerPid(name));

            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", Patience));
            Assert.Equal(manager.Property(unit + ".service", "MainPID"), OwnerPid(name));
            Assert.Equal("s \"Hello, user!\"", Busctl("call", name, "/org/sddaemon/Example", "org.sddaemon.Example1", "Greet", "s", "user").EnsureSuccess("busctl call").Stdout.Trim());

            manager.Systemctl("stop", unit + ".service").EnsureSuccess("systemctl stop");
            Assert.Null(OwnerPid(name));
        }
        finally
        {
            manager.Cleanup(unit + ".service");
        }
    }
}
