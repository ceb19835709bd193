using System.Globalization;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>
/// examples/DBusService as a real system service under systemd as PID 1, with the system bus and
/// logind of the container; busctl, systemctl and systemd-inhibit as the independent clients (DB-4..DB-8).
/// </summary>
public abstract class Pid1DBusTests(Pid1Container pid1, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    public static string ExampleDll => Path.Combine(AppContext.BaseDirectory, "DBusService.dll");

    private static string UniqueBusName() => $"org.sddaemon.T{Guid.NewGuid():N}";

    /// <summary>A unit running the example with <paramref name="arguments"/>.</summary>
    public static string UnitText(string type, string busName, params string[] arguments) => $"""
        [Service]
        Type={type}
        {(type == "dbus" ? "BusName=" + busName : "")}
        NotifyAccess=main
        ExecStart={TestDaemon.DotnetPath} {ExampleDll} --BusName {busName} {string.Join(' ', arguments)}
        """;

    private string Start(string prefix, string text)
    {
        string unit = TestDaemon.UniqueUnit(prefix) + ".service";
        pid1.InstallUnit(unit, text);
        pid1.Systemctl("start", "--no-block", unit).EnsureSuccess("systemctl start");
        return unit;
    }

    private ProcessResult Busctl(params string[] arguments) => pid1.Exec(["busctl", "--no-pager", .. arguments]);

    private string? OwnerPid(string busName)
    {
        ProcessResult r = Busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", busName);
        return r.ExitCode == 0 ? r.Stdout.Trim().Split(' ')[1] : null;
    }

    private static double Microseconds(Dictionary<string, string> show, string property) =>
        double.Parse(show[property], CultureInfo.InvariantCulture);

    [Pid1Fact]
    public void TypeDbus_goes_active_only_once_the_name_is_taken_and_the_name_is_the_main_process()
    {
        pid1.EnsureRunning();
        string name = UniqueBusName();
        string unit = Start("dbus-ready", UnitText("dbus", name, "--StartDelayMs", "6000"));
        try
        {
            Assert.Equal("activating", pid1.WaitForProperty(unit, "ActiveState", "activating", Patience));
            Thread.Sleep(1000); // inside the 6 s start-up (room for a slow systemctl under load): the process runs, the name is not there yet
            Assert.Equal("activating", pid1.Property(unit, "ActiveState"));
            Assert.NotEqual("0", pid1.Property(unit, "MainPID"));
            Assert.Null(OwnerPid(name));

            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal(pid1.Property(unit, "MainPID"), OwnerPid(name));
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public void Start_up_time_to_active_TypeDbus_next_to_TypeNotify_in_the_same_run()
    {
        pid1.EnsureRunning();
        var dbus = new List<double>();
        var notify = new List<double>();
        for (int round = 0; round < 3; round++)
        {
            foreach ((string type, List<double> times) in new[] { ("dbus", dbus), ("notify", notify) })
            {
                string unit = Start($"time-{type}", UnitText(type, UniqueBusName()));
                try
                {
                    Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
                    Dictionary<string, string> show = pid1.Show(unit, "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic");
                    times.Add((Microseconds(show, "ActiveEnterTimestampMonotonic") - Microseconds(show, "ExecMainStartTimestampMonotonic")) / 1000);
                }
                finally
                {
                    pid1.Cleanup(unit);
                }
            }
        }

        output.WriteLine($"{pid1.Name}: process start -> active, ms: Type=dbus {string.Join(", ", dbus.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}; Type=notify {string.Join(", ", notify.Select(t => t.ToString("0", CultureInfo.InvariantCulture)))}");
        Assert.All(dbus.Concat(notify), t => Assert.InRange(t, 1, 60_000));
    }

    [Pid1Fact]
    public void Busctl_calls_the_method_reads_and_writes_the_properties_and_introspects_the_object()
    {
        pid1.EnsureRunning();
        string name = UniqueBusName();
        string unit = Start("dbus-busctl", UnitText("dbus", name));
        try
        {
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
            const string Path = "/org/sddaemon/Example", Iface = "org.sddaemon.Example1";
            Assert.Equal("s \"Hello, world!\"", Busctl("call", name, Path, Iface, "Greet", "s", "world").EnsureSuccess("busctl call").Stdout.Trim());
            Assert.Equal("u 1", Busctl("get-property", name, Path, Iface, "Greetings").EnsureSuccess("get-property").Stdout.Trim());
            Busctl("set-property", name, Path, Iface, "Greeting", "s", "Hi").EnsureSuccess("set-property");
            Assert.Equal("s \"Hi, you!\"", Busctl("call", name, Path, Iface, "Greet", "s", "you").Stdout.Trim());

            ProcessResult readOnly = Busctl("set-property", name, Path, Iface, "Greetings", "u", "7");
            Assert.NotEqual(0, readOnly.ExitCode);
            Assert.Contains("read-only", readOnly.Stderr);
            ProcessResult error = Busctl("call", name, Path, Iface, "Greet", "s", "");
            Assert.NotEqual(0, error.ExitCode);
            Assert.Contains("say who to greet", error.Stderr);

            string introspection = Busctl("introspect", name, Path).EnsureSuccess("busctl introspect").Stdout;
            Assert.Matches(@"\.Greet\s+method\s+s\s+s", introspection);
            Assert.Matches(@"\.Greeting\s+property\s+s\s+""Hi""\s+emits-change writable", introspection);
            Assert.Matches(@"\.Greetings\s+property\s+u\s+2\s+emits-change", introspection);
            Assert.Matches(@"\.Greeted\s+signal\s+s", introspection);
            Assert.Contains("org.freedesktop.DBus.Properties", introspection);
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public void A_second_instance_cannot_take_the_name_and_fails_with_a_clear_message()
    {
        pid1.EnsureRunning();
        string name = UniqueBusName();
        string unit = Start("dbus-first", UnitText("dbus", name));
        try
        {
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
            string owner = OwnerPid(name)!;
            ProcessResult second = pid1.Exec("env", "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1", TestDaemon.DotnetPath, ExampleDll, "--BusName", name, "--NameOptions", "ReplaceExisting");
            Assert.NotEqual(0, second.ExitCode);
            Assert.Contains($"the bus name {name} is owned by another connection, which does not allow replacement", second.Stdout + second.Stderr);
            Assert.Equal(owner, OwnerPid(name));
            Assert.Equal("active", pid1.Property(unit, "ActiveState"));
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public void Losing_the_name_to_a_replacement_stops_the_host_with_the_reason_logged()
    {
        pid1.EnsureRunning();
        string name = UniqueBusName();
        string first = Start("dbus-replaceable", UnitText("dbus", name, "--NameOptions", "AllowReplacement"));
        string? second = null;
        try
        {
            Assert.Equal("active", pid1.WaitForProperty(first, "ActiveState", "active", Patience));
            second = Start("dbus-replacer", UnitText("notify", name, "--NameOptions", "ReplaceExisting"));
            Assert.Equal("active", pid1.WaitForProperty(second, "ActiveState", "active", Patience));

            Assert.Equal("inactive", pid1.WaitForProperty(first, "ActiveState", "inactive", Patience));
            Assert.Equal(pid1.Property(second, "MainPID"), OwnerPid(name));
            string journal = pid1.Journalctl("-u", first, "-o", "cat").Stdout;
            Assert.Contains($"Stopping: the bus name {name} was taken over by another connection", journal);
        }
        finally
        {
            pid1.Cleanup(first);
            if (second is not null)
            {
                pid1.Cleanup(second);
            }
        }
    }

    [Pid1Fact]
    public void Releasing_the_name_while_running_makes_the_manager_send_SIGTERM_and_the_unit_stops_successfully()
    {
        pid1.EnsureRunning();
        string name = UniqueBusName();
        // The process gives its name up 3 s after start-up and never stops by itself (DB-6, DB-10).
        // ExecStopPost= records how the manager saw the end (an inactive unit is soon unloaded,
        // and systemctl show then reports a fresh unit's defaults).
        string result = Path.Combine(pid1.ScratchDirectory, $"result-{Guid.NewGuid():N}");
        string unit = Start("dbus-release", UnitText("dbus", name, "--ReleaseNameAfterMs", "3000")
            + $"\nExecStopPost=/bin/sh -c 'echo \"$$SERVICE_RESULT $$EXIT_CODE $$EXIT_STATUS\" > {result}'\n");
        try
        {
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.True(SpinWait.SpinUntil(() => File.Exists(result) && File.ReadAllText(result).EndsWith('\n'), Patience), "the unit never stopped");

            // Stopped by the manager and not failed; the main process exited 0 (the host handled SIGTERM).
            Assert.Equal("success exited 0\n", File.ReadAllText(result));
            Assert.Null(OwnerPid(name));

            // In this order: the name given up, then the manager's SIGTERM, then the unit deactivated.
            string[] journal = pid1.Journalctl("-u", unit, "-o", "short-monotonic").Stdout.Split('\n');
            int released = Array.FindIndex(journal, l => l.EndsWith($"Releasing the bus name {name} while running", StringComparison.Ordinal));
            int terminated = Array.FindIndex(journal, l => l.EndsWith("SIGTERM received", StringComparison.Ordinal));
            int deactivated = Array.FindIndex(journal, l => l.Contains("Deactivated successfully", StringComparison.Ordinal));
            Assert.True(released >= 0 && terminated > released && deactivated > terminated, string.Join('\n', journal));
            Assert.Single(journal, l => l.EndsWith("SIGTERM received", StringComparison.Ordinal));
            output.WriteLine($"{pid1.Name}: released -> SIGTERM: {MonotonicSeconds(journal[terminated]) - MonotonicSeconds(journal[released]):0.000} s (journal receive times)");
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    private static double MonotonicSeconds(string shortMonotonicLine) =>
        double.Parse(shortMonotonicLine[(shortMonotonicLine.IndexOf('[') + 1)..shortMonotonicLine.IndexOf(']')].Trim(), CultureInfo.InvariantCulture);

    [Pid1Fact]
    public void The_delay_inhibitor_is_listed_while_the_service_runs_and_gone_after_it_stopped()
    {
        pid1.EnsureRunning();
        string unit = Start("dbus-inhibit", UnitText("dbus", UniqueBusName()));
        try
        {
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Patience));
            string mainPid = pid1.Property(unit, "MainPID");
            string? held = null;
            for (var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20); DateTime.UtcNow < deadline; Thread.Sleep(200))
            {
                held = pid1.Exec("systemd-inhibit", "--list", "--no-pager", "--no-legend").Stdout;
                if (held.Contains("saving its greetings before shutdown"))
                {
                    break;
                }
            }

            string line = held!.Split('\n').Single(l => l.Contains("saving its greetings before shutdown"));
            Assert.Matches($@"^\s*DBusService\s+0\s+root\s+{mainPid}\s+\S+\s+shutdown\s+saving its greetings before shutdown\s+delay\s*$", line);

            pid1.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            Assert.DoesNotContain("saving its greetings before shutdown", pid1.Exec("systemd-inhibit", "--list", "--no-pager", "--no-legend").Stdout);
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public async Task The_unit_by_pid_and_by_invocation_id_has_the_properties_systemctl_shows_and_reports_changes()
    {
        pid1.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("dbus-unit") + ".service";
        pid1.InstallUnit(unit, UnitText("dbus", UniqueBusName()) + "\nWatchdogSec=30\nFileDescriptorStoreMax=3\n");
        pid1.Systemctl("start", unit).EnsureSuccess("systemctl start");
        try
        {
            // Type=dbus is active once the name is taken; STATUS=running follows on ApplicationStarted.
            Assert.Equal("running", pid1.WaitForProperty(unit, "StatusText", "running", Patience));

            // The container's system bus, reached from the test through the container's root.
            using Tmds.DBus.Protocol.DBusConnection bus = await SdDaemon.DBus.DaemonBus.ConnectAsync($"unix:path=/proc/{pid1.LeaderPid}/root/run/dbus/system_bus_socket");
            Dictionary<string, string> show = pid1.Show(unit, "Id", "ActiveState", "SubState", "InvocationID", "MainPID", "NRestarts", "FileDescriptorStoreMax", "StatusText");
            using SdDaemon.DBus.ServiceUnit byPid = await SdDaemon.DBus.ServiceUnit.GetByPidAsync(bus, int.Parse(show["MainPID"], CultureInfo.InvariantCulture));
            using SdDaemon.DBus.ServiceUnit byInvocation = await SdDaemon.DBus.ServiceUnit.GetByInvocationIdAsync(bus, show["InvocationID"]);
            // The manager answers with another path for the same unit: the invocation id's alias.
            Assert.Equal(show["Id"], (await byInvocation.GetPropertiesAsync()).Id);

            SdDaemon.DBus.UnitProperties properties = await byPid.GetPropertiesAsync();
            Assert.Equal(show["Id"], properties.Id);
            Assert.Equal(show["ActiveState"], properties.ActiveState);
            Assert.Equal(show["SubState"], properties.SubState);
            Assert.Equal(show["InvocationID"], properties.InvocationId);
            Assert.Equal(show["MainPID"], properties.MainPid.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(show["NRestarts"], properties.NRestarts.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(3u, properties.FileDescriptorStoreMax);
            Assert.Equal(show["FileDescriptorStoreMax"], properties.FileDescriptorStoreMax.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(TimeSpan.FromSeconds(30), properties.Watchdog);
            Assert.Equal(show["StatusText"], properties.StatusText);

            // The changes as events (DB-9), in the order the manager announced them. The stop is quick: the unit is
            // often unloaded before its properties are read again, and read afresh it reports WatchdogUSec=infinity
            // (which overflowed TimeSpan inside the handler and lost every event of such a run).
            var events = new System.Collections.Concurrent.ConcurrentQueue<SdDaemon.DBus.UnitProperties>();
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            byPid.PropertiesChanged += (_, p) =>
            {
                events.Enqueue(p);
                if (p.ActiveState == "inactive")
                {
                    stopped.TrySetResult();
                }
            };
            byPid.WatchFailed += (_, e) => failures.Enqueue(e);

            // By invocation id, on the same connection: the alias path gets no signals (the watch follows the unit's
            // own path), the manager already counts the connection as subscribed, and a handler that throws is reported.
            var thrown = new InvalidOperationException("a handler's own failure");
            var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
            byInvocation.PropertiesChanged += (_, _) => throw thrown;
            byInvocation.WatchFailed += (_, e) => reported.TrySetResult(e);

            await byPid.WatchAsync();
            await byInvocation.WatchAsync();
            pid1.Systemctl("stop", "--no-block", unit).EnsureSuccess("systemctl stop");
            await stopped.Task.WaitAsync(Patience);
            Assert.Same(thrown, await reported.Task.WaitAsync(Patience));

            // The job's announcement may come while the unit is still active/running; then SIGTERM, then dead. Each
            // state may be announced more than once (the Job property changes too), never out of order.
            string[] announced = events.Select(p => $"{p.ActiveState}/{p.SubState}").ToArray();
            // "afresh": read after the unit was unloaded (WatchdogUSec=infinity), the case that used to lose the events.
            output.WriteLine($"{pid1.Name}: {string.Join(", ", events.Select(p => $"{p.ActiveState}/{p.SubState}{(p.Watchdog == Timeout.InfiniteTimeSpan ? " (afresh)" : "")}"))}");
            Assert.Empty(failures);
            Assert.Equal(
                ["deactivating/stop-sigterm", "inactive/dead"],
                announced.SkipWhile(a => a == "active/running")
                    .Aggregate(new List<string>(), (states, a) => { if (states.Count == 0 || states[^1] != a) { states.Add(a); } return states; }));
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class Pid1DBusTests252(Systemd252Pid1 pid1, ITestOutputHelper output) : Pid1DBusTests(pid1, output);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class Pid1DBusTests257(Systemd257Pid1 pid1, ITestOutputHelper output) : Pid1DBusTests(pid1, output);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class Pid1DBusTests262(Systemd262Pid1 pid1, ITestOutputHelper output) : Pid1DBusTests(pid1, output);
