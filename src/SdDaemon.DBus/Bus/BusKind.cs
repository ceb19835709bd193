namespace SdDaemon.DBus;

/// <summary>Which message bus a daemon talks to (sd_bus_open_system / sd_bus_open_user in
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_bus_default.html">sd_bus_default(3)</see>).</summary>
public enum BusKind
{
    /// <summary>The system bus: system services (under PID 1), logind, the system manager.</summary>
    System,

    /// <summary>The user's bus (the session bus): user services under <c>systemd --user</c>.</summary>
    User,
}
