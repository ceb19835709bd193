using System.Text;

namespace SdDaemon.DBus;

/// <summary>
/// The bus addresses as libsystemd resolves them (DB-2, sd_bus_default(3); bus_set_address_system
/// and bus_set_address_user in sd-bus): the system bus is <c>$DBUS_SYSTEM_BUS_ADDRESS</c> or
/// <c>unix:path=/run/dbus/system_bus_socket</c>; the user bus is <c>$DBUS_SESSION_BUS_ADDRESS</c> or
/// <c>unix:path=$XDG_RUNTIME_DIR/bus</c> (the directory escaped as a D-Bus address value), and none
/// when neither is set.
/// </summary>
public static class BusAddress
{
    /// <summary><c>DBUS_SYSTEM_BUS_ADDRESS</c>: overrides the system bus address.</summary>
    public const string SystemBusVariable = "DBUS_SYSTEM_BUS_ADDRESS";

    /// <summary><c>DBUS_SESSION_BUS_ADDRESS</c>: the user (session) bus address.</summary>
    public const string SessionBusVariable = "DBUS_SESSION_BUS_ADDRESS";

    /// <summary><c>XDG_RUNTIME_DIR</c>: the user's runtime directory, where the user bus socket <c>bus</c> lives.</summary>
    public const string RuntimeDirectoryVariable = "XDG_RUNTIME_DIR";

    /// <summary>The system bus's well-known socket (the D-Bus specification's default).</summary>
    public const string DefaultSystemBus = "unix:path=/run/dbus/system_bus_socket";

    /// <summary>The address of <paramref name="kind"/> from the process environment; null when the
    /// user bus has no address (neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR set).</summary>
    public static string? Resolve(BusKind kind) => Resolve(kind, Environment.GetEnvironmentVariable);

    /// <summary>The same, reading variables through <paramref name="environment"/> (testable without the process environment).</summary>
    internal static string? Resolve(BusKind kind, Func<string, string?> environment)
    {
        if (kind == BusKind.System)
        {
            return NonEmpty(environment(SystemBusVariable)) ?? DefaultSystemBus;
        }

        if (NonEmpty(environment(SessionBusVariable)) is { } session)
        {
            return session;
        }

        // libsystemd requires an absolute runtime directory; a relative one is ignored.
        return NonEmpty(environment(RuntimeDirectoryVariable)) is { } runtime && runtime[0] == '/'
            ? "unix:path=" + Escape(runtime) + "/bus"
            : null;
    }

    /// <summary>D-Bus address value escaping: bytes outside [0-9A-Za-z_-/.] become %XX (lower-case hex), as sd-bus's bus_address_escape writes.</summary>
    internal static string Escape(string value)
    {
        var escaped = new StringBuilder(value.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(value))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '/' or '.')
            {
                escaped.Append(c);
            }
            else
            {
                escaped.Append('%').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
