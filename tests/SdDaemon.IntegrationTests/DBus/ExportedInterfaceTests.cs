using SdDaemon.DBus;
using SdDaemon.IntegrationTests.Infrastructure;
using Tmds.DBus.Protocol;
using Xunit;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>BusInterface on a real dbus-daemon: signals and PropertiesChanged as another connection receives them (DB-5).</summary>
public sealed class ExportedInterfaceTests(SessionBus bus) : IClassFixture<SessionBus>
{
    [SessionBusFact]
    public async Task Signals_and_PropertiesChanged_reach_a_subscriber_and_busctl_sees_the_object()
    {
        bus.EnsureRunning();
        using DBusConnection server = await DaemonBus.ConnectAsync(bus.SocketAddress);
        using DBusConnection client = await DaemonBus.ConnectAsync(bus.SocketAddress);
        string level = "info";
        var iface = new BusInterface("org.sddaemon.Control1");
        BusSignal<uint> tick = iface.AddSignal<uint>("Tick", "count");
        iface.AddProperty("Level", () => level, v => level = v);
        iface.AddMethod("Ping", () => { });
        using IDisposable exported = iface.Export(server, "/org/sddaemon/Control");
        string name = $"org.sddaemon.T{Guid.NewGuid():N}";
        await using BusName owned = await BusName.AcquireAsync(server, name);

        var ticks = new TaskCompletionSource<uint>();
        using IDisposable tickWatch = await client.WatchSignalAsync(server.UniqueName!, "/org/sddaemon/Control", "org.sddaemon.Control1", "Tick",
            static (Message m, object? _) => m.GetBodyReader().ReadUInt32(), (Notification<uint> n) => { if (n.HasValue) { ticks.TrySetResult(n.Value); } }, ObserverFlags.None, emitOnCapturedContext: false);
        var changed = new TaskCompletionSource<string>();
        using IDisposable changeWatch = await client.WatchSignalAsync(server.UniqueName!, "/org/sddaemon/Control", "org.freedesktop.DBus.Properties", "PropertiesChanged",
            static (Message m, object? _) =>
            {
                Reader r = m.GetBodyReader();
                string iface = r.ReadString();
                Dictionary<string, VariantValue> values = r.ReadDictionaryOfStringToVariantValue();
                return $"{iface} {string.Join(',', values.Select(kv => kv.Key + "=" + kv.Value.GetString()))}";
            },
            (Notification<string> n) => { if (n.HasValue) { changed.TrySetResult(n.Value); } }, ObserverFlags.None, emitOnCapturedContext: false);

        Assert.True(tick.Emit(42));
        Assert.Equal(42u, await ticks.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        bus.Busctl("set-property", name, "/org/sddaemon/Control", "org.sddaemon.Control1", "Level", "s", "debug").EnsureSuccess("set-property");
        Assert.Equal("org.sddaemon.Control1 Level=debug", await changed.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("debug", level);

        ProcessResult wrong = bus.Busctl("call", name, "/org/sddaemon/Control", "org.sddaemon.Control1", "Ping", "s", "x");
        Assert.Contains("takes '', not 's'", wrong.Stderr);
        ProcessResult unknown = bus.Busctl("call", name, "/org/sddaemon/Control", "org.sddaemon.Control1", "Pong");
        Assert.Contains("is not a method", unknown.Stderr);
        Assert.Equal("", bus.Busctl("call", name, "/org/sddaemon/Control", "org.sddaemon.Control1", "Ping").EnsureSuccess("Ping").Stdout.Trim());
    }

    [Fact]
    public void Invalid_names_paths_and_types_are_ArgumentExceptions()
    {
        Assert.Throws<ArgumentException>(() => new BusInterface("nodot"));
        var iface = new BusInterface("org.sddaemon.X1");
        Assert.Throws<ArgumentException>(() => iface.AddMethod("Bad-Name", () => { }));
        Assert.Throws<ArgumentException>(() => iface.AddProperty("When", () => DateTime.Now));
        Assert.Throws<ArgumentException>(() => new SdDaemon.DBus.Hosting.SdDaemonBusOptions().Export("/org/", iface));
    }
}
