using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// Connects a daemon to its bus: the address resolved as libsystemd does (<see cref="BusAddress"/>),
/// the connection and authentication bounded by a timeout, and one clear exception
/// (<see cref="BusUnavailableException"/>) for every way the bus can be missing, so that a daemon
/// never hangs on a bus that is absent or wedged (DB-3).
/// </summary>
public static class DaemonBus
{
    /// <summary>How long connecting and authenticating may take by default: 10 seconds.</summary>
    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Connects to the <paramref name="kind"/> bus of this process's environment.</summary>
    /// <param name="kind">The system or the user bus.</param>
    /// <param name="timeout">Bound on connecting and authenticating; null for <see cref="DefaultConnectTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels the attempt.</param>
    /// <returns>A connected, explicit (not auto-connecting) connection, owned by the caller.</returns>
    /// <exception cref="BusUnavailableException">There is no address, or the bus could not be reached in time.</exception>
    public static Task<DBusConnection> ConnectAsync(BusKind kind, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        ConnectAsync(kind, Environment.GetEnvironmentVariable, timeout, cancellationToken);

    /// <summary>The same, reading the environment through <paramref name="environment"/>.</summary>
    internal static Task<DBusConnection> ConnectAsync(BusKind kind, Func<string, string?> environment, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        string? address = BusAddress.Resolve(kind, environment);
        if (address is null)
        {
            throw new BusUnavailableException($"the {Describe(kind)} has no address: neither {BusAddress.SessionBusVariable} nor {BusAddress.RuntimeDirectoryVariable} is set", null);
        }

        return ConnectAsync(address, Describe(kind), timeout, cancellationToken);
    }

    /// <summary>Connects to the bus at <paramref name="address"/> (a D-Bus address such as <c>unix:path=/run/dbus/system_bus_socket</c>).</summary>
    /// <exception cref="BusUnavailableException">The bus could not be reached in time.</exception>
    public static Task<DBusConnection> ConnectAsync(string address, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        return ConnectAsync(address, "bus", timeout, cancellationToken);
    }

    private static async Task<DBusConnection> ConnectAsync(string address, string what, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        TimeSpan bound = timeout ?? DefaultConnectTimeout;
        var connection = new DBusConnection(address);
        try
        {
            // A listening socket whose owner never answers the authentication would wait forever.
            await connection.ConnectAsync().AsTask().WaitAsync(bound, cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (TimeoutException e)
        {
            connection.Dispose();
            throw new BusUnavailableException($"the {what} at {address} did not complete connecting within {bound.TotalSeconds:0.###} s", address, e);
        }
        catch (DBusConnectionException e)
        {
            connection.Dispose();
            throw new BusUnavailableException($"the {what} at {address} cannot be reached: {e.Message}", address, e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static string Describe(BusKind kind) => kind == BusKind.System ? "system bus" : "user bus";
}
