namespace SdDaemon.DBus;

/// <summary>
/// A service unit's state as the manager reports it on the bus (org.freedesktop.systemd1(5):
/// the Unit and Service interfaces) — the same values <c>systemctl show</c> prints.
/// </summary>
public sealed record UnitProperties
{
    /// <summary>Id, e.g. "foo.service".</summary>
    public required string Id { get; init; }

    /// <summary>ActiveState: active, reloading, inactive, failed, activating, deactivating, maintenance, refreshing.</summary>
    public required string ActiveState { get; init; }

    /// <summary>SubState, e.g. running, start, stop-sigterm.</summary>
    public required string SubState { get; init; }

    /// <summary>InvocationID as 32 lower-case hex digits (what $INVOCATION_ID holds); empty when none.</summary>
    public required string InvocationId { get; init; }

    /// <summary>MainPID (0 when none).</summary>
    public required uint MainPid { get; init; }

    /// <summary>NRestarts: automatic restarts since the unit was last started by hand.</summary>
    public required uint NRestarts { get; init; }

    /// <summary>FileDescriptorStoreMax=.</summary>
    public required uint FileDescriptorStoreMax { get; init; }

    /// <summary>WatchdogUSec: the watchdog timeout (zero when off); <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// for the manager's "infinity", which a unit loaded but not started since reports (e.g. one unloaded after
    /// its stop and read again).</summary>
    public required TimeSpan Watchdog { get; init; }

    /// <summary>StatusText: the last STATUS= the service sent.</summary>
    public required string StatusText { get; init; }
}
