using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>
/// logind's PrepareForShutdown(true) on <c>systemctl poweroff</c> reaches the host's handler while
/// its delay lock holds the shutdown back (DB-8). Powering off is the end of a container's life,
/// so each run boots a container of its own.
/// </summary>
public abstract class Pid1PowerOffTests
{
    protected abstract Pid1Container Boot();

    [Pid1Fact]
    public void Poweroff_runs_the_prepare_for_shutdown_handler_under_the_delay_lock()
    {
        using Pid1Container pid1 = Boot();
        pid1.EnsureRunning();
        string prepared = Path.Combine(pid1.ScratchDirectory, "prepared");
        string busName = $"org.sddaemon.T{Guid.NewGuid():N}";
        string unit = TestDaemon.UniqueUnit("dbus-poweroff") + ".service";
        // The handler takes 1.5 s: the service is only stopped after it released the lock.
        pid1.InstallUnit(unit, Pid1DBusTests.UnitText("dbus", busName, "--PrepareFile", prepared, "--PrepareDelayMs", "1500"));
        pid1.Systemctl("start", unit).EnsureSuccess("systemctl start");
        Assert.True(
            SpinWait.SpinUntil(() => pid1.Exec("systemd-inhibit", "--list", "--no-pager", "--no-legend").Stdout.Contains("saving its greetings before shutdown"), TimeSpan.FromSeconds(20)),
            "the delay lock was never listed");
        pid1.Exec("busctl", "call", busName, "/org/sddaemon/Example", "org.sddaemon.Example1", "Greet", "s", "poweroff").EnsureSuccess("busctl call");

        pid1.Exec("systemctl", "poweroff", "--no-block").EnsureSuccess("systemctl poweroff");

        Assert.True(SpinWait.SpinUntil(() => File.Exists(prepared) && File.ReadAllText(prepared).Length > 0, TimeSpan.FromSeconds(30)), "the handler never ran");
        Assert.StartsWith("greetings=1 at ", File.ReadAllText(prepared));
    }
}

public sealed class Pid1PowerOffTests252 : Pid1PowerOffTests
{
    protected override Pid1Container Boot() => new Container();

    private sealed class Container() : Pid1Container("bookworm", 252, "-poweroff");
}

public sealed class Pid1PowerOffTests262 : Pid1PowerOffTests
{
    protected override Pid1Container Boot() => new Container();

    private sealed class Container() : Pid1Container("sid", 262, "-poweroff");
}
