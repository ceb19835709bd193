namespace SdDaemon.DBus;

/// <summary>
/// The bus could not be reached: no address (the user bus without DBUS_SESSION_BUS_ADDRESS or
/// XDG_RUNTIME_DIR), no socket, a refused or timed-out connection or authentication, or a
/// connection that closed. The message names the bus and the address.
/// </summary>
public sealed class BusUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    public BusUnavailableException(string message, string? address, Exception? innerException = null)
        : base(message, innerException)
    {
        Address = address;
    }

    /// <summary>The address tried; null when there was none.</summary>
    public string? Address { get; }
}
