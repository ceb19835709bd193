using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// A well-known name owned on a bus: for a Type=dbus service, taking it is the readiness signal
/// (the manager sees the unit active once the name appears, see systemd.service(5), Type=dbus,
/// and daemon(7): take the name as the last step of start-up). Disposal releases it; losing it
/// (replaced, or the bus connection gone) raises <see cref="Lost"/> and completes <see cref="WhenLost"/>.
/// <para>Under Type=dbus the manager stops the unit when the name goes away while the process
/// still runs (systemd.service(5)): release it only when stopping.</para>
/// </summary>
public sealed class BusName : IAsyncDisposable, IDisposable
{
    private readonly DBusConnection _connection;
    private readonly TaskCompletionSource<BusNameLostEventArgs> _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IDisposable> _watches = [];
    private EventHandler<BusNameLostEventArgs>? _lostHandlers;
    private int _state; // 0 owned, 1 lost, 2 released

    private BusName(DBusConnection connection, string name)
    {
        _connection = connection;
        Name = name;
    }

    /// <summary>The well-known name.</summary>
    public string Name { get; }

    /// <summary>True while this connection is the name's primary owner.</summary>
    public bool IsOwned => Volatile.Read(ref _state) == 0;

    /// <summary>
    /// Raised once when the name is lost without being released: another connection replaced
    /// us (<see cref="BusNameOptions.AllowReplacement"/>), or the bus connection closed. A handler
    /// added after the loss runs at once. Runs on a thread-pool thread.
    /// </summary>
    public event EventHandler<BusNameLostEventArgs>? Lost
    {
        add
        {
            lock (_lost)
            {
                if (!_lost.Task.IsCompleted)
                {
                    _lostHandlers += value;
                    return;
                }
            }

            value?.Invoke(this, _lost.Task.Result);
        }

        remove
        {
            lock (_lost)
            {
                _lostHandlers -= value;
            }
        }
    }

    /// <summary>Completes when <see cref="Lost"/> is raised; never completes if the name is released first.</summary>
    public Task<BusNameLostEventArgs> WhenLost => _lost.Task;

    /// <summary>
    /// Requests <paramref name="name"/> on <paramref name="connection"/> (org.freedesktop.DBus.RequestName).
    /// </summary>
    /// <param name="connection">A connected, explicit connection (see <see cref="DaemonBus"/>); it must outlive the name.</param>
    /// <param name="name">A well-known name such as <c>org.example.Daemon</c>.</param>
    /// <param name="options">Replacement and queueing; <see cref="BusNameOptions.None"/> takes the name only when free and keeps it.</param>
    /// <param name="cancellationToken">Cancels waiting in the queue (<see cref="BusNameOptions.Queue"/>): the place is given up.</param>
    /// <returns>The owned name.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid well-known name.</exception>
    /// <exception cref="BusNameException">The name is taken, or the policy forbids owning it (<see cref="BusNameFailure"/>).</exception>
    /// <exception cref="BusUnavailableException">The connection is closed.</exception>
    public static async Task<BusName> AcquireAsync(DBusConnection connection, string name, BusNameOptions options = BusNameOptions.None, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        BusNaming.ThrowIfInvalidWellKnownName(name);
        if ((options & ~(BusNameOptions.AllowReplacement | BusNameOptions.ReplaceExisting | BusNameOptions.Queue)) != 0)
        {
            throw new ArgumentException($"unknown options {options}", nameof(options));
        }

        var owned = new BusName(connection, name);
        var acquired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            // Watch before asking: NameAcquired/NameLost may arrive right after the reply (DB-4).
            owned._watches.Add(await BusDriver.WatchNameSignalAsync(connection, "NameAcquired", name, () => acquired.TrySetResult()).ConfigureAwait(false));
            owned._watches.Add(await BusDriver.WatchNameSignalAsync(connection, "NameLost", name, () => owned.OnLost(BusNameLossReason.Replaced, null)).ConfigureAwait(false));

            uint wire = (uint)(options & (BusNameOptions.AllowReplacement | BusNameOptions.ReplaceExisting))
                | ((options & BusNameOptions.Queue) != 0 ? 0 : BusDriver.DoNotQueue);
            uint reply = await BusDriver.RequestNameAsync(connection, name, wire).ConfigureAwait(false);
            switch (reply)
            {
                case BusDriver.PrimaryOwner:
                    break;
                case BusDriver.InQueue:
                    try
                    {
                        await acquired.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        await BusDriver.ReleaseNameAsync(connection, name).ConfigureAwait(false); // leave the queue
                        throw;
                    }

                    break;
                case BusDriver.Exists:
                    throw new BusNameException(name, BusNameFailure.Taken,
                        $"the bus name {name} is owned by another connection"
                        + ((options & BusNameOptions.ReplaceExisting) != 0 ? ", which does not allow replacement" : " (ReplaceExisting was not asked for)"));
                case BusDriver.AlreadyOwner:
                    throw new BusNameException(name, BusNameFailure.AlreadyOwner, $"this connection already owns the bus name {name}");
                default:
                    throw new BusNameException(name, BusNameFailure.Refused, $"the bus answered RequestName({name}) with the unknown reply {reply}");
            }

            _ = owned.WatchDisconnectAsync();
            return owned;
        }
        catch (DBusErrorReplyException e)
        {
            owned.DisposeWatches();
            bool denied = e.ErrorName == BusDriver.AccessDenied;
            throw new BusNameException(name, denied ? BusNameFailure.AccessDenied : BusNameFailure.Refused,
                denied
                    ? $"the bus's policy does not allow this process to own {name} ({e.ErrorMessage}); a system bus name needs a <allow own=\"{name}\"/> policy in /etc/dbus-1/system.d/"
                    : $"the bus refused RequestName({name}): {e.ErrorName}: {e.ErrorMessage}",
                e.ErrorName, e);
        }
        catch (DBusConnectionException e)
        {
            owned.DisposeWatches();
            throw new BusUnavailableException($"the connection to the bus closed while requesting {name}: {e.Message}", null, e);
        }
        catch
        {
            owned.DisposeWatches();
            throw;
        }
    }

    /// <summary>Releases the name (org.freedesktop.DBus.ReleaseName) if still owned; a closed connection is not an error.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _state, 2, 0) == 0)
        {
            try
            {
                await BusDriver.ReleaseNameAsync(_connection, Name).WaitAsync(DaemonBus.DefaultConnectTimeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is DBusExceptionBase or TimeoutException or ObjectDisposedException)
            {
                // The connection is gone or wedged: the bus drops its names with it.
            }
        }

        DisposeWatches();
    }

    /// <summary>Releases the name, waiting at most <see cref="DaemonBus.DefaultConnectTimeout"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task WatchDisconnectAsync()
    {
        Exception? reason;
        try
        {
            reason = await _connection.DisconnectedAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            reason = e;
        }

        OnLost(BusNameLossReason.Disconnected, reason);
    }

    private void OnLost(BusNameLossReason reason, Exception? exception)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            return; // released by us, or already lost
        }

        var args = new BusNameLostEventArgs(Name, reason, exception);
        EventHandler<BusNameLostEventArgs>? handlers;
        lock (_lost)
        {
            _lost.TrySetResult(args);
            handlers = _lostHandlers;
            _lostHandlers = null;
        }

        handlers?.Invoke(this, args);
    }

    private void DisposeWatches()
    {
        lock (_watches)
        {
            foreach (IDisposable watch in _watches)
            {
                watch.Dispose();
            }

            _watches.Clear();
        }
    }
}
