using System.Text;
using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// One D-Bus interface with methods, properties and signals, exported on one object path: a
/// daemon's small control surface (DB-5). Members take and return string, bool, byte, short,
/// ushort, int, uint, long, ulong or double. The exported object also answers
/// org.freedesktop.DBus.Properties (Get, GetAll, Set, and PropertiesChanged on Set),
/// org.freedesktop.DBus.Introspectable (what <c>busctl introspect</c> shows) and
/// org.freedesktop.DBus.Peer. Handlers run on the connection's reader: return quickly (start
/// long work and return). See <see href="https://dbus.freedesktop.org/doc/dbus-specification.html">the D-Bus specification</see>.
/// </summary>
public sealed class BusInterface
{
    private readonly Dictionary<string, Method> _methods = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Property> _properties = new(StringComparer.Ordinal);
    private readonly List<BusSignal> _signals = [];
    private Exported? _exported;

    /// <summary>Creates an interface named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Not a valid interface name.</exception>
    public BusInterface(string name)
    {
        BusNaming.ThrowIfInvalidInterfaceName(name);
        Name = name;
    }

    /// <summary>The interface name.</summary>
    public string Name { get; }

    internal Exported? Exported => Volatile.Read(ref _exported);

    /// <summary>Adds a method without arguments or result.</summary>
    public BusInterface AddMethod(string name, Action handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new Method(name, "", "", null, null, context =>
        {
            handler();
            return EmptyReply(context);
        }));
    }

    /// <summary>Adds a method without arguments that returns a <typeparamref name="TResult"/>.</summary>
    public BusInterface AddMethod<TResult>(string name, Func<TResult> handler, string resultName = "result")
    {
        ArgumentNullException.ThrowIfNull(handler);
        string outSignature = BusValue.Signature<TResult>();
        return Add(new Method(name, "", outSignature, null, resultName, context =>
        {
            TResult result = handler();
            return Reply(context, outSignature, result);
        }));
    }

    /// <summary>Adds a method with one argument and a result.</summary>
    public BusInterface AddMethod<TArgument, TResult>(string name, Func<TArgument, TResult> handler, string argumentName = "value", string resultName = "result")
    {
        ArgumentNullException.ThrowIfNull(handler);
        string outSignature = BusValue.Signature<TResult>();
        return Add(new Method(name, BusValue.Signature<TArgument>(), outSignature, argumentName, resultName, context =>
        {
            Reader reader = context.Request.GetBodyReader();
            TResult result = handler(BusValue.Read<TArgument>(ref reader));
            return Reply(context, outSignature, result);
        }));
    }

    /// <summary>Adds a method with one argument and no result.</summary>
    public BusInterface AddMethod<TArgument>(string name, Action<TArgument> handler, string argumentName = "value")
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new Method(name, BusValue.Signature<TArgument>(), "", argumentName, null, context =>
        {
            Reader reader = context.Request.GetBodyReader();
            handler(BusValue.Read<TArgument>(ref reader));
            return EmptyReply(context);
        }));
    }

    /// <summary>Adds a property: read-only without <paramref name="set"/>, read-write with it.
    /// After a Set from the bus, PropertiesChanged is emitted with the new value.</summary>
    public BusInterface AddProperty<T>(string name, Func<T> get, Action<T>? set = null)
    {
        ArgumentNullException.ThrowIfNull(get);
        BusNaming.ThrowIfInvalidMemberName(name);
        ThrowIfExported();
        _properties.Add(name, new Property(
            name,
            BusValue.Signature<T>(),
            () => BusValue.ToVariant(get()),
            set is null ? null : value => set(BusValue.FromVariant<T>(value))));
        return this;
    }

    /// <summary>Adds a signal without arguments.</summary>
    public BusSignal AddSignal(string name)
    {
        BusNaming.ThrowIfInvalidMemberName(name);
        ThrowIfExported();
        var signal = new BusSignal(this, name, "", null);
        _signals.Add(signal);
        return signal;
    }

    /// <summary>Adds a signal with one argument.</summary>
    public BusSignal<T> AddSignal<T>(string name, string argumentName = "value")
    {
        BusNaming.ThrowIfInvalidMemberName(name);
        ThrowIfExported();
        var signal = new BusSignal<T>(this, name, argumentName);
        _signals.Add(signal);
        return signal;
    }

    /// <summary>Emits org.freedesktop.DBus.Properties.PropertiesChanged with the current value of
    /// <paramref name="name"/> (call it when the daemon changes a property itself).</summary>
    /// <returns>False when not exported or the connection is closed.</returns>
    public bool NotifyPropertyChanged(string name)
    {
        if (!_properties.TryGetValue(name, out Property? property))
        {
            throw new ArgumentException($"{Name} has no property {name}", nameof(name));
        }

        if (Exported is not { } target)
        {
            return false;
        }

        using MessageWriter writer = target.Connection.GetMessageWriter();
        writer.WriteSignalHeader(destination: null, path: target.Path, @interface: BusDriver.PropertiesInterface, member: "PropertiesChanged", signature: "sa{sv}as");
        writer.WriteString(Name);
        ArrayStart changed = writer.WriteDictionaryStart();
        writer.WriteDictionaryEntryStart();
        writer.WriteString(property.Name);
        writer.WriteVariant(property.Get());
        writer.WriteDictionaryEnd(changed);
        writer.WriteArray(Array.Empty<string>());
        return target.Connection.TrySendMessage(writer.CreateMessage());
    }

    /// <summary>Exports the interface at <paramref name="path"/> on <paramref name="connection"/>
    /// (before taking the bus name, so that the first caller finds it). Members cannot be added afterwards.</summary>
    /// <returns>Disposing removes the object from the connection.</returns>
    /// <exception cref="ArgumentException">Not a valid object path.</exception>
    /// <exception cref="InvalidOperationException">Already exported.</exception>
    public IDisposable Export(DBusConnection connection, string path)
    {
        ArgumentNullException.ThrowIfNull(connection);
        BusNaming.ThrowIfInvalidObjectPath(path);
        var exported = new Exported(this, connection, path, Encoding.UTF8.GetBytes(IntrospectionXml()));
        if (Interlocked.CompareExchange(ref _exported, exported, null) is not null)
        {
            throw new InvalidOperationException($"{Name} is exported already");
        }

        connection.AddMethodHandler(exported);
        return exported;
    }

    private static MessageBuffer EmptyReply(MethodContext context)
    {
        using MessageWriter writer = context.CreateReplyWriter(null);
        return writer.CreateMessage();
    }

    private static MessageBuffer Reply<T>(MethodContext context, string signature, T result)
    {
        // Not a using variable: the writer is a mutable ref struct passed on by ref.
        MessageWriter writer = context.CreateReplyWriter(signature);
        try
        {
            BusValue.Write(ref writer, result);
            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>This interface's &lt;interface&gt; element for Introspect.</summary>
    internal string IntrospectionXml()
    {
        var xml = new StringBuilder();
        xml.Append(" <interface name=\"").Append(Name).Append("\">\n");
        foreach (Method m in _methods.Values)
        {
            xml.Append("  <method name=\"").Append(m.Name).Append("\">\n");
            if (m.ArgumentName is not null)
            {
                xml.Append("   <arg name=\"").Append(m.ArgumentName).Append("\" type=\"").Append(m.InSignature).Append("\" direction=\"in\"/>\n");
            }

            if (m.ResultName is not null)
            {
                xml.Append("   <arg name=\"").Append(m.ResultName).Append("\" type=\"").Append(m.OutSignature).Append("\" direction=\"out\"/>\n");
            }

            xml.Append("  </method>\n");
        }

        foreach (Property p in _properties.Values)
        {
            xml.Append("  <property name=\"").Append(p.Name).Append("\" type=\"").Append(p.Signature)
                .Append("\" access=\"").Append(p.Set is null ? "read" : "readwrite").Append("\"/>\n");
        }

        foreach (BusSignal s in _signals)
        {
            xml.Append("  <signal name=\"").Append(s.Name).Append('"');
            xml.Append(s.ArgumentName is null ? "/>\n" : $">\n   <arg name=\"{s.ArgumentName}\" type=\"{s.Signature}\"/>\n  </signal>\n");
        }

        return xml.Append(" </interface>\n").ToString();
    }

    private BusInterface Add(Method method)
    {
        BusNaming.ThrowIfInvalidMemberName(method.Name, "name");
        ThrowIfExported();
        _methods.Add(method.Name, method);
        return this;
    }

    private void ThrowIfExported()
    {
        if (Exported is not null)
        {
            throw new InvalidOperationException($"{Name} is exported: add members before Export");
        }
    }

    /// <summary>Replies to one call; an exception becomes an error reply.</summary>
    internal void Dispatch(MethodContext context)
    {
        Message request = context.Request;
        string member = request.MemberAsString ?? "";
        string signature = request.SignatureAsString ?? "";
        string? @interface = request.InterfaceAsString;
        try
        {
            if (@interface == BusDriver.PropertiesInterface)
            {
                DispatchProperties(context, member, signature);
            }
            else if (@interface == PeerInterface)
            {
                DispatchPeer(context, member);
            }
            else if ((@interface is null || @interface == Name) && _methods.TryGetValue(member, out Method? method))
            {
                if (signature != method.InSignature)
                {
                    context.ReplyError(InvalidArgs, $"{Name}.{member} takes '{method.InSignature}', not '{signature}'");
                    return;
                }

                context.Reply(method.Invoke(context));
            }
            else
            {
                context.ReplyError(UnknownMethod, $"{@interface ?? Name}.{member} is not a method of {Exported?.Path}");
            }
        }
        catch (BusMethodException e)
        {
            context.ReplyError(e.ErrorName, e.Message);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or DBusReadException or DBusUnexpectedValueException)
        {
            context.ReplyError(InvalidArgs, e.Message);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            context.ReplyError(Failed, e.Message);
        }
    }

    private void DispatchProperties(MethodContext context, string member, string signature)
    {
        Reader reader = context.Request.GetBodyReader();
        switch (member, signature)
        {
            case ("Get", "ss"):
            {
                string iface = reader.ReadString();
                Property property = FindProperty(iface, reader.ReadString());
                using MessageWriter writer = context.CreateReplyWriter("v");
                writer.WriteVariant(property.Get());
                context.Reply(writer.CreateMessage());
                return;
            }

            case ("GetAll", "s"):
            {
                string iface = reader.ReadString();
                using MessageWriter writer = context.CreateReplyWriter("a{sv}");
                ArrayStart all = writer.WriteDictionaryStart();
                if (iface == Name)
                {
                    foreach (Property p in _properties.Values)
                    {
                        writer.WriteDictionaryEntryStart();
                        writer.WriteString(p.Name);
                        writer.WriteVariant(p.Get());
                    }
                }

                writer.WriteDictionaryEnd(all);
                context.Reply(writer.CreateMessage());
                return;
            }

            case ("Set", "ssv"):
            {
                string iface = reader.ReadString();
                Property property = FindProperty(iface, reader.ReadString());
                if (property.Set is null)
                {
                    throw new BusMethodException(PropertyReadOnly, $"{Name}.{property.Name} is read-only");
                }

                VariantValue value = reader.ReadVariantValue();
                property.Set(value);
                context.Reply(EmptyReply(context));
                NotifyPropertyChanged(property.Name);
                return;
            }

            default:
                context.ReplyError(UnknownMethod, $"{BusDriver.PropertiesInterface}.{member}({signature}) is not a method");
                return;
        }
    }

    private static void DispatchPeer(MethodContext context, string member)
    {
        if (member == "Ping")
        {
            context.Reply(EmptyReply(context));
        }
        else if (member == "GetMachineId")
        {
            using MessageWriter writer = context.CreateReplyWriter("s");
            writer.WriteString(File.ReadAllText("/etc/machine-id").Trim());
            context.Reply(writer.CreateMessage());
        }
        else
        {
            context.ReplyError(UnknownMethod, $"{PeerInterface}.{member} is not a method");
        }
    }

    private Property FindProperty(string @interface, string name) =>
        @interface == Name && _properties.TryGetValue(name, out Property? property)
            ? property
            : throw new BusMethodException(UnknownProperty, $"{@interface} has no property {name} at {Exported?.Path}");

    private const string PeerInterface = "org.freedesktop.DBus.Peer";
    private const string UnknownMethod = "org.freedesktop.DBus.Error.UnknownMethod";
    private const string UnknownProperty = "org.freedesktop.DBus.Error.UnknownProperty";
    private const string PropertyReadOnly = "org.freedesktop.DBus.Error.PropertyReadOnly";
    private const string InvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
    private const string Failed = "org.freedesktop.DBus.Error.Failed";

    private sealed record Method(string Name, string InSignature, string OutSignature, string? ArgumentName, string? ResultName, Func<MethodContext, MessageBuffer> Invoke);

    private sealed record Property(string Name, string Signature, Func<VariantValue> Get, Action<VariantValue>? Set);
}
