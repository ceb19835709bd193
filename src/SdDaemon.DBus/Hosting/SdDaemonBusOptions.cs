namespace SdDaemon.DBus.Hosting;

/// <summary>Options of <see cref="Microsoft.Extensions.Hosting.SdDaemonBusExtensions.AddSdDaemonBus"/>.</summary>
public sealed class SdDaemonBusOptions
{
    private readonly List<(string Path, BusInterface Interface)> _exports = [];

    /// <summary>The bus: <see cref="BusKind.System"/> (the default) for system services,
    /// <see cref="BusKind.User"/> for user services.</summary>
    public BusKind Bus { get; set; } = BusKind.System;

    /// <summary>An explicit bus address; null resolves <see cref="Bus"/> as libsystemd does.</summary>
    public string? Address { get; set; }

    /// <summary>
    /// The well-known name taken once the host has started (the last step of start-up, daemon(7)),
    /// before READY=1 when the unit is also Type=notify; released when the host stops. For a
    /// Type=dbus unit it must equal the unit's BusName=. Null takes no name.
    /// </summary>
    public string? BusName { get; set; }

    /// <summary>How the name is requested. Default <see cref="BusNameOptions.None"/>: only when free, and kept.</summary>
    public BusNameOptions NameOptions { get; set; } = BusNameOptions.None;

    /// <summary>Bound on connecting to the bus. Default <see cref="DaemonBus.DefaultConnectTimeout"/>.</summary>
    public TimeSpan ConnectTimeout { get; set; } = DaemonBus.DefaultConnectTimeout;

    /// <summary>Stop the host when the name is lost (replaced, or the bus went away), after logging why. Default true.</summary>
    public bool StopWhenNameLost { get; set; } = true;

    internal IReadOnlyList<(string Path, BusInterface Interface)> Exports => _exports;

    /// <summary>Exports <paramref name="interface"/> at <paramref name="path"/> before the name is taken.</summary>
    /// <exception cref="ArgumentException">Not a valid object path.</exception>
    public SdDaemonBusOptions Export(string path, BusInterface @interface)
    {
        BusNaming.ThrowIfInvalidObjectPath(path);
        ArgumentNullException.ThrowIfNull(@interface);
        _exports.Add((path, @interface));
        return this;
    }
}
