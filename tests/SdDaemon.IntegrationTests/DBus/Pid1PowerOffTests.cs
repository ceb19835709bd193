using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>
/// logind's PrepareForShutdown(true) on <c>systemctl poweroff</c> reaches the host's handler while
/// its delay lock holds the shutdown back (DB-8). Powering off is the end of a container's life,
/// so each run boots a container of its own. Then: logind proceeds as soon as the lock is released,
/// not at InhibitDelayMaxSec.
/// </summary>
public abstract class Pid1PowerOffTests(ITestOutputHelper output)
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

    [Pid1Fact]
    public void Logind_powers_off_as_soon_as_the_delay_lock_is_released_long_before_InhibitDelayMaxSec()
    {
        using Pid1Container pid1 = Boot();
        pid1.EnsureRunning();
        // Ten minutes: a power-off that comes within the test's bounds came from the release.
        string dropIn = Path.Combine(pid1.ScratchDirectory, "delay.conf");
        File.WriteAllText(dropIn, "[Login]\nInhibitDelayMaxSec=600\n");
        pid1.Exec("mkdir", "-p", "/etc/systemd/logind.conf.d").EnsureSuccess("mkdir");
        pid1.Exec("cp", dropIn, "/etc/systemd/logind.conf.d/delay.conf").EnsureSuccess("cp");
        pid1.Systemctl("restart", "systemd-logind").EnsureSuccess("restart logind");
        Assert.Equal("t 600000000", Logind(pid1, "InhibitDelayMaxUSec"));

        string prepared = Path.Combine(pid1.ScratchDirectory, "prepared");
        string release = Path.Combine(pid1.ScratchDirectory, "release");
        string busName = $"org.sddaemon.T{Guid.NewGuid():N}";
        string unit = TestDaemon.UniqueUnit("dbus-release-lock") + ".service";
        // The handler holds the lock until the test creates the release file.
        pid1.InstallUnit(unit, Pid1DBusTests.UnitText("dbus", busName, "--PrepareFile", prepared, "--PrepareUntilFile", release));
        pid1.Systemctl("start", unit).EnsureSuccess("systemctl start");
        Assert.True(
            SpinWait.SpinUntil(() => pid1.Exec("systemd-inhibit", "--list", "--no-pager", "--no-legend").Stdout.Contains("saving its greetings before shutdown"), TimeSpan.FromSeconds(20)),
            "the delay lock was never listed");

        pid1.Exec("systemctl", "poweroff", "--no-block").EnsureSuccess("systemctl poweroff");

        // While the handler holds the lock: logind is preparing and waits; nothing is stopped yet.
        Assert.True(
            SpinWait.SpinUntil(() => pid1.Journalctl("-u", unit, "-o", "cat").Stdout.Contains("Preparing for shutdown (InhibitDelayMaxSec=600 s)"), TimeSpan.FromSeconds(30)),
            "the handler never started");
        Assert.Equal("b true", Logind(pid1, "PreparingForShutdown"));
        Assert.DoesNotContain("poweroff.target", pid1.Systemctl("list-jobs", "--no-legend").Stdout);
        Assert.Equal("active", pid1.Property(unit, "ActiveState"));
        Assert.Contains("saving its greetings before shutdown", pid1.Exec("systemd-inhibit", "--list", "--no-pager", "--no-legend").Stdout);
        Assert.False(File.Exists(prepared));

        var released = System.Diagnostics.Stopwatch.StartNew();
        File.WriteAllText(release, "");

        // The handler finishes, the lock goes, logind starts poweroff.target: the container ends
        // long before the 600 s logind would otherwise wait.
        Assert.True(pid1.WaitForExit(TimeSpan.FromSeconds(180)), "the container did not power off after the lock was released");
        Assert.StartsWith("greetings=0 at ", File.ReadAllText(prepared));
        output.WriteLine($"{pid1.Name}: release file written -> container gone: {released.Elapsed.TotalSeconds:0.0} s (InhibitDelayMaxSec=600)");
    }

    private static string Logind(Pid1Container pid1, string property) =>
        pid1.Exec("busctl", "get-property", "org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.login1.Manager", property)
            .EnsureSuccess($"busctl get-property {property}").Stdout.Trim();
}

public sealed class Pid1PowerOffTests252(ITestOutputHelper output) : Pid1PowerOffTests(output)
{
    protected override Pid1Container Boot() => new Container();

    private sealed class Container() : Pid1Container("bookworm", 252, "-poweroff");
}

public sealed class Pid1PowerOffTests262(ITestOutputHelper output) : Pid1PowerOffTests(output)
{
    protected override Pid1Container Boot() => new Container();

    private sealed class Container() : Pid1Container("sid", 262, "-poweroff");
}
