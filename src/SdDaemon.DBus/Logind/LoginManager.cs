using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>
/// logind's manager object (<see href="https://www.freedesktop.org/software/systemd/man/org.freedesktop.login1.html">org.freedesktop.login1(5)</see>)
/// on the system bus: inhibitor locks and the PrepareForShutdown / PrepareForSleep signals (DB-7).
/// </summary>
public sealed class LoginManager : IDisposable
{
    /// <summary>logind's bus name.</summary>
    public const string ServiceName = "org.freedesktop.login1";

    private const string Path = "/org/freedesktop/login1";
    private const string Interface = "org.freedesktop.login1.Manager";
    private readonly DBusConnection _connection;
    private readonly List<IDisposable> _watches = [];

    private LoginManager(DBusConnection connection) => _connection = connection;

    /// <summary>
    /// Raised with true when logind is about to shut down (the delay locks hold it for at most
    /// InhibitDelayMaxSec=), and with false if the shutdown was cancelled. Runs on a thread-pool thread.
    /// </summary>
    public event EventHandler<bool>? PrepareForShutdown;

    /// <summary>Raised with true before the system sleeps and with false after it resumed.</summary>
    public event EventHandler<bool>? PrepareForSleep;

    /// <summary>Subscribes to logind's signals on <paramref name="systemBus"/> (which must outlive this object).</summary>
    public static async Task<LoginManager> ConnectAsync(DBusConnection systemBus)
    {
        ArgumentNullException.ThrowIfNull(systemBus);
        var manager = new LoginManager(systemBus);
        try
        {
            manager._watches.Add(await manager.WatchAsync("PrepareForShutdown", b => manager.PrepareForShutdown?.Invoke(manager, b)).ConfigureAwait(false));
            manager._watches.Add(await manager.WatchAsync("PrepareForSleep", b => manager.PrepareForSleep?.Invoke(manager, b)).ConfigureAwait(false));
            return manager;
        }
        catch
        {
            manager.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Takes an inhibitor lock (Inhibit(what, who, why, mode)). It is listed by
    /// <c>systemd-inhibit --list</c> until the returned handle is disposed.
    /// </summary>
    /// <param name="what">One or more operations.</param>
    /// <param name="who">A human-readable name of the program taking the lock.</param>
    /// <param name="why">Why it is taken.</param>
    /// <param name="mode">Block or delay.</param>
    /// <exception cref="ArgumentException">No or an unknown <paramref name="what"/>, or an empty <paramref name="who"/>/<paramref name="why"/>.</exception>
    /// <exception cref="DBusErrorReplyException">logind refused (for example org.freedesktop.DBus.Error.AccessDenied for a block lock by an unprivileged user).</exception>
    public async Task<InhibitorLock> InhibitAsync(InhibitWhat what, string who, string why, InhibitMode mode)
    {
        string whatText = Format(what);
        ArgumentException.ThrowIfNullOrEmpty(who);
        ArgumentException.ThrowIfNullOrEmpty(why);
        string modeText = mode switch
        {
            InhibitMode.Block => "block",
            InhibitMode.Delay => "delay",
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "block or delay"),
        };

        MessageBuffer message = CreateInhibit(whatText, who, why, modeText);
        InhibitorLock inhibitor = await _connection.CallMethodAsync(message, static (Message m, object? _) => m.GetBodyReader().ReadHandle<InhibitorLock>()).ConfigureAwait(false);
        inhibitor.What = what;
        inhibitor.Mode = mode;
        return inhibitor;
    }

    /// <summary>InhibitDelayMaxUSec: how long logind waits for delay locks (logind.conf(5), InhibitDelayMaxSec=);
    /// <see cref="Timeout.InfiniteTimeSpan"/> for InhibitDelayMaxSec=infinity.</summary>
    public async Task<TimeSpan> GetInhibitDelayMaxAsync()
    {
        VariantValue value = await BusDriver.GetPropertyAsync(_connection, ServiceName, Path, Interface, "InhibitDelayMaxUSec").ConfigureAwait(false);
        return Usec.ToTimeSpan(value.GetUInt64());
    }

    /// <summary>Stops raising the events.</summary>
    public void Dispose()
    {
        foreach (IDisposable watch in _watches)
        {
            watch.Dispose();
        }

        _watches.Clear();
    }

    /// <summary>The colon-separated list logind parses, e.g. "shutdown:sleep".</summary>
    internal static string Format(InhibitWhat what)
    {
        if (what == 0 || (what & ~(InhibitWhat)127) != 0)
        {
            throw new ArgumentException($"'{what}' is not a set of InhibitWhat values", nameof(what));
        }

        var names = new List<string>();
        foreach ((InhibitWhat flag, string name) in Names)
        {
            if ((what & flag) != 0)
            {
                names.Add(name);
            }
        }

        return string.Join(':', names);
    }

    private static readonly (InhibitWhat Flag, string Name)[] Names =
    [
        (InhibitWhat.Shutdown, "shutdown"), (InhibitWhat.Sleep, "sleep"), (InhibitWhat.Idle, "idle"),
        (InhibitWhat.HandlePowerKey, "handle-power-key"), (InhibitWhat.HandleSuspendKey, "handle-suspend-key"),
        (InhibitWhat.HandleHibernateKey, "handle-hibernate-key"), (InhibitWhat.HandleLidSwitch, "handle-lid-switch"),
    ];

    private MessageBuffer CreateInhibit(string what, string who, string why, string mode)
    {
        using MessageWriter writer = _connection.GetMessageWriter();
        writer.WriteMethodCallHeader(destination: ServiceName, path: Path, @interface: Interface, member: "Inhibit", signature: "ssss");
        writer.WriteString(what);
        writer.WriteString(who);
        writer.WriteString(why);
        writer.WriteString(mode);
        return writer.CreateMessage();
    }

    private ValueTask<IDisposable> WatchAsync(string signal, Action<bool> handler) =>
        _connection.WatchSignalAsync(
            ServiceName, Path, Interface, signal,
            static (Message m, object? _) => m.GetBodyReader().ReadBool(),
            (Notification<bool> n) =>
            {
                if (n.HasValue)
                {
                    handler(n.Value);
                }
            },
            ObserverFlags.None,
            emitOnCapturedContext: false);
}
