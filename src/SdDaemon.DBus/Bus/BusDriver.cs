using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// The method calls and signals of org.freedesktop.DBus (the bus itself) and of the standard
/// Properties interface that this package uses: the one place their wire formats are written.
/// </summary>
internal static class BusDriver
{
    public const string Name = "org.freedesktop.DBus";
    public const string Path = "/org/freedesktop/DBus";
    public const string Interface = "org.freedesktop.DBus";
    public const string PropertiesInterface = "org.freedesktop.DBus.Properties";
    public const string IntrospectableInterface = "org.freedesktop.DBus.Introspectable";
    public const string AccessDenied = "org.freedesktop.DBus.Error.AccessDenied";

    // RequestName's flags and replies (D-Bus specification, "org.freedesktop.DBus.RequestName").
    public const uint DoNotQueue = 4;
    public const uint PrimaryOwner = 1;
    public const uint InQueue = 2;
    public const uint Exists = 3;
    public const uint AlreadyOwner = 4;

    public static Task<uint> RequestNameAsync(DBusConnection connection, string name, uint flags)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Name, path: Path, @interface: Interface, member: "RequestName", signature: "su");
        writer.WriteString(name);
        writer.WriteUInt32(flags);
        return connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadUInt32());
    }

    public static Task<uint> ReleaseNameAsync(DBusConnection connection, string name)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: Name, path: Path, @interface: Interface, member: "ReleaseName", signature: "s");
        writer.WriteString(name);
        return connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadUInt32());
    }

    /// <summary>Watches the bus's unicast NameAcquired or NameLost signal for one name.</summary>
    public static ValueTask<IDisposable> WatchNameSignalAsync(DBusConnection connection, string member, string name, Action action)
    {
        var rule = new MatchRule
        {
            Type = MessageType.Signal,
            Sender = Name,
            Interface = Interface,
            Member = member,
            Path = Path,
            Arg0 = name,
        };
        return connection.AddMatchAsync(
            rule,
            static (Message m, object? _) => m.GetBodyReader().ReadString(),
            (Notification<string> n) =>
            {
                if (n.HasValue)
                {
                    action();
                }
            },
            emitOnCapturedContext: false);
    }

    /// <summary>org.freedesktop.DBus.Properties.GetAll(interface) of an object.</summary>
    public static Task<Dictionary<string, VariantValue>> GetAllPropertiesAsync(DBusConnection connection, string destination, string path, string @interface)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: destination, path: path, @interface: PropertiesInterface, member: "GetAll", signature: "s");
        writer.WriteString(@interface);
        return connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue());
    }

    /// <summary>org.freedesktop.DBus.Properties.Get(interface, name) of an object.</summary>
    public static Task<VariantValue> GetPropertyAsync(DBusConnection connection, string destination, string path, string @interface, string property)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: destination, path: path, @interface: PropertiesInterface, member: "Get", signature: "ss");
        writer.WriteString(@interface);
        writer.WriteString(property);
        return connection.CallMethodAsync(writer.CreateMessage(), static (Message m, object? _) => m.GetBodyReader().ReadVariantValue());
    }
}
