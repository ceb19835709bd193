using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>A signal of a <see cref="BusInterface"/>, emitted from the exported object's path.</summary>
public class BusSignal
{
    private readonly BusInterface _owner;

    internal BusSignal(BusInterface owner, string name, string signature, string? argumentName)
    {
        _owner = owner;
        Name = name;
        Signature = signature;
        ArgumentName = argumentName;
    }

    /// <summary>The member name.</summary>
    public string Name { get; }

    internal string Signature { get; }

    internal string? ArgumentName { get; }

    /// <summary>Emits the signal (no arguments).</summary>
    /// <returns>False when the interface is not exported or its connection is closed.</returns>
    public bool Emit() => Send<bool>(false, hasValue: false);

    private protected bool Send<T>(T value, bool hasValue)
    {
        if (_owner.Exported is not { } target)
        {
            return false;
        }

        // Not a using variable: the writer is a mutable ref struct passed on by ref.
        MessageWriter writer = target.Connection.GetMessageWriter();
        try
        {
            writer.WriteSignalHeader(destination: null, path: target.Path, @interface: _owner.Name, member: Name, signature: hasValue ? Signature : null);
            if (hasValue)
            {
                BusValue.Write(ref writer, value);
            }

            return target.Connection.TrySendMessage(writer.CreateMessage());
        }
        finally
        {
            writer.Dispose();
        }
    }
}

/// <summary>A signal with one argument.</summary>
/// <typeparam name="T">The argument's type (see <see cref="BusInterface"/> for the types allowed).</typeparam>
public sealed class BusSignal<T> : BusSignal
{
    internal BusSignal(BusInterface owner, string name, string argumentName)
        : base(owner, name, BusValue.Signature<T>(), argumentName)
    {
    }

    /// <summary>Emits the signal with <paramref name="value"/>.</summary>
    /// <returns>False when the interface is not exported or its connection is closed.</returns>
    public bool Emit(T value) => Send(value, hasValue: true);
}
