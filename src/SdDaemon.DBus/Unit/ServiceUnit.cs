using System.Globalization;
using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// A service unit as the system or user manager sees it (org.freedesktop.systemd1(5)): found by a
/// process id (GetUnitByPID, by default this process: the daemon's own unit) or by invocation id,
/// its properties typed, and their changes as an event (DB-9).
/// </summary>
public sealed class ServiceUnit : IDisposable
{
    /// <summary>The manager's bus name.</summary>
    public const string ManagerName = "org.freedesktop.systemd1";

    private const string ManagerPath = "/org/freedesktop/systemd1";
    private const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    private const string UnitInterface = "org.freedesktop.systemd1.Unit";
    private const string ServiceInterface = "org.freedesktop.systemd1.Service";
    private readonly DBusConnection _connection;
    private readonly List<IDisposable> _watches = [];

    // Signals are handled one at a time, in order; each merges into the last snapshot.
    private readonly SemaphoreSlim _raising = new(1, 1);
    private EventHandler<UnitProperties>? _changed;
    private EventHandler<Exception>? _failed;
    private UnitProperties? _last;

    private ServiceUnit(DBusConnection connection, string path)
    {
        _connection = connection;
        Path = path;
    }

    /// <summary>The unit's object path as the manager returned it, e.g. /org/freedesktop/systemd1/unit/foo_2eservice
    /// (by invocation id the manager returns an alias path named after the id).</summary>
    public string Path { get; }

    /// <summary>The unit that holds <paramref name="pid"/> (GetUnitByPID); by default this process's own unit.</summary>
    /// <exception cref="DBusErrorReplyException">The manager knows no unit for it (org.freedesktop.systemd1.NoUnitForPID).</exception>
    public static async Task<ServiceUnit> GetByPidAsync(DBusConnection connection, int? pid = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        MessageBuffer message = CreateCall(connection, "GetUnitByPID", "u", (uint)(pid ?? Environment.ProcessId), null);
        string path = await connection.CallMethodAsync(message, static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString()).ConfigureAwait(false);
        return new ServiceUnit(connection, path);
    }

    /// <summary>The unit of the invocation <paramref name="invocationId"/> ($INVOCATION_ID: 32 hex digits).</summary>
    /// <exception cref="ArgumentException">Not 32 hex digits.</exception>
    public static async Task<ServiceUnit> GetByInvocationIdAsync(DBusConnection connection, string invocationId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (invocationId is not { Length: 32 } || !invocationId.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"'{invocationId}' is not an invocation id (32 hex digits)", nameof(invocationId));
        }

        byte[] id = Convert.FromHexString(invocationId);
        MessageBuffer message = CreateCall(connection, "GetUnitByInvocationID", "ay", null, id);
        string path = await connection.CallMethodAsync(message, static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString()).ConfigureAwait(false);
        return new ServiceUnit(connection, path);
    }

    /// <summary>
    /// Raised for each change the manager announced (PropertiesChanged of the Unit interface, once
    /// <see cref="WatchAsync"/> subscribed), in the order announced: ActiveState and SubState as the
    /// announcement carried them, the other properties read again right after it. Runs on a thread-pool
    /// thread (the connection's receive loop: a handler must not block).
    /// </summary>
    public event EventHandler<UnitProperties>? PropertiesChanged
    {
        add => _changed += value;
        remove => _changed -= value;
    }

    /// <summary>
    /// Raised when an announced change could not be turned into <see cref="PropertiesChanged"/> (reading the
    /// properties failed in an unexpected way) or a <see cref="PropertiesChanged"/> handler threw: such
    /// failures are reported here instead of being lost; the watch goes on.
    /// </summary>
    public event EventHandler<Exception>? WatchFailed
    {
        add => _failed += value;
        remove => _failed -= value;
    }

    /// <summary>Starts delivering <see cref="PropertiesChanged"/>: a first read of the properties, a match on
    /// the unit's own object path (where the manager announces changes, also for a unit found by invocation id,
    /// whose alias path gets none), then Subscribe (another watch on the same connection may have done that).</summary>
    public async Task WatchAsync()
    {
        _last ??= await GetPropertiesAsync().ConfigureAwait(false);
        MessageBuffer getUnit = CreateCall(_connection, "GetUnit", "s", null, null, _last.Id);
        string unitPath = await _connection.CallMethodAsync(getUnit, static (Message m, object? _) => m.GetBodyReader().ReadObjectPathAsString()).ConfigureAwait(false);
        _watches.Add(await _connection.WatchPropertiesChangedAsync(
            ManagerName, unitPath, UnitInterface,
            static (Message m, object? _) =>
            {
                // PropertiesChanged(s interface, a{sv} changed, as invalidated): the values the manager sent.
                Reader reader = m.GetBodyReader();
                reader.ReadString();
                return reader.ReadDictionaryOfStringToVariantValue();
            },
            (Notification<Dictionary<string, VariantValue>> n) =>
            {
                if (n.HasValue)
                {
                    _ = RaiseChangedAsync(n.Value);
                }
            },
            ObserverFlags.None,
            emitOnCapturedContext: false).ConfigureAwait(false));
        try
        {
            await _connection.CallMethodAsync(CreateCall(_connection, "Subscribe", null, null, null)).ConfigureAwait(false);
        }
        catch (DBusErrorReplyException e) when (e.ErrorName == "org.freedesktop.systemd1.AlreadySubscribed")
        {
            // The manager tracks subscribers per connection: one Subscribe serves every watch on it.
        }
    }

    /// <summary>Reads the properties now (GetAll of the Unit and Service interfaces).</summary>
    public async Task<UnitProperties> GetPropertiesAsync()
    {
        Dictionary<string, VariantValue> unit = await BusDriver.GetAllPropertiesAsync(_connection, ManagerName, Path, UnitInterface).ConfigureAwait(false);
        Dictionary<string, VariantValue> service = await BusDriver.GetAllPropertiesAsync(_connection, ManagerName, Path, ServiceInterface).ConfigureAwait(false);
        return new UnitProperties
        {
            Id = unit["Id"].GetString(),
            ActiveState = unit["ActiveState"].GetString(),
            SubState = unit["SubState"].GetString(),
            InvocationId = Convert.ToHexString(unit["InvocationID"].GetArray<byte>()).ToLower(CultureInfo.InvariantCulture),
            MainPid = service["MainPID"].GetUInt32(),
            NRestarts = service["NRestarts"].GetUInt32(),
            FileDescriptorStoreMax = service["FileDescriptorStoreMax"].GetUInt32(),
            Watchdog = Usec.ToTimeSpan(service["WatchdogUSec"].GetUInt64()),
            StatusText = service["StatusText"].GetString(),
        };
    }

    /// <summary>Stops the watch (the manager subscription ends with the connection).</summary>
    public void Dispose()
    {
        foreach (IDisposable watch in _watches)
        {
            watch.Dispose();
        }

        _watches.Clear();
    }

    private async Task RaiseChangedAsync(Dictionary<string, VariantValue> changed)
    {
        await _raising.WaitAsync().ConfigureAwait(false);
        try
        {
            UnitProperties now;
            try
            {
                now = await GetPropertiesAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is DBusConnectionException or ObjectDisposedException)
            {
                // The connection closed or was disposed: the watch ended, nothing to report.
                return;
            }
            catch (DBusExceptionBase) when (_last is not null)
            {
                // The unit stopped and was unloaded before it could be read again (a stop under load does
                // that): the change is still reported, over the last snapshot.
                now = _last;
            }

            // The states as announced, in the order announced: a read after a quick stop already finds the
            // unit unloaded and loaded afresh (inactive), whatever the announcement said.
            now = now with
            {
                ActiveState = changed.TryGetValue("ActiveState", out VariantValue active) ? active.GetString() : now.ActiveState,
                SubState = changed.TryGetValue("SubState", out VariantValue sub) ? sub.GetString() : now.SubState,
            };
            _last = now;
            _changed?.Invoke(this, now);
        }
        catch (Exception e)
        {
            // Never lost silently (a fire-and-forget task would swallow it): a read that failed in an
            // unexpected way, or a handler that threw.
            _failed?.Invoke(this, e);
        }
        finally
        {
            _raising.Release();
        }
    }

    private static MessageBuffer CreateCall(DBusConnection connection, string member, string? signature, uint? pid, byte[]? bytes, string? text = null)
    {
        using MessageWriter writer = connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: ManagerName, path: ManagerPath, @interface: ManagerInterface, member: member, signature: signature);
        if (pid is { } p)
        {
            writer.WriteUInt32(p);
        }

        if (bytes is not null)
        {
            writer.WriteArray(bytes);
        }

        if (text is not null)
        {
            writer.WriteString(text);
        }

        return writer.CreateMessage();
    }
}
