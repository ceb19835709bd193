namespace SdDaemon.DBus;

/// <summary>Thrown by a method or property handler of a <see cref="BusInterface"/> to reply with a
/// specific D-Bus error; any other exception replies org.freedesktop.DBus.Error.Failed with its message.</summary>
public sealed class BusMethodException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="errorName">A D-Bus error name (an interface-like name such as <c>org.example.Error.Busy</c>).</param>
    /// <param name="message">The error's text.</param>
    public BusMethodException(string errorName, string message)
        : base(message)
    {
        BusNaming.ThrowIfInvalidInterfaceName(errorName);
        ErrorName = errorName;
    }

    /// <summary>The D-Bus error name replied.</summary>
    public string ErrorName { get; }
}
