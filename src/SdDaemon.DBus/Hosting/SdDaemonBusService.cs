using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tmds.DBus.Protocol;

namespace SdDaemon.DBus.Hosting;

/// <summary>
/// The bus side of the host's life (DB-6): connect while starting (so that other services can use
/// the connection), export the objects and take the name after everything else has started (the
/// last step, daemon(7); under Type=notify that is before READY=1, which the lifetime sends on
/// ApplicationStarted), release the name when stopping (after STOPPING=1), and stop the host
/// when the name is lost.
/// </summary>
internal sealed partial class SdDaemonBusService : IHostedLifecycleService, ISdDaemonBus, IAsyncDisposable
{
    private readonly SdDaemonBusOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger _logger;
    private readonly List<IDisposable> _exports = [];
    private DBusConnection? _connection;
    private BusName? _name;

    public SdDaemonBusService(IOptions<SdDaemonBusOptions> options, IHostApplicationLifetime lifetime, ILogger<SdDaemonBusService> logger)
    {
        _options = options.Value;
        _lifetime = lifetime;
        _logger = logger;
    }

    public DBusConnection Connection => _connection ?? throw new InvalidOperationException("the bus connection opens when the host starts");

    public BusName? Name => _name;

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        _connection = _options.Address is { } address
            ? await DaemonBus.ConnectAsync(address, _options.ConnectTimeout, cancellationToken).ConfigureAwait(false)
            : await DaemonBus.ConnectAsync(_options.Bus, _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        DBusConnection connection = Connection;
        foreach ((string path, BusInterface @interface) in _options.Exports)
        {
            _exports.Add(@interface.Export(connection, path));
        }

        if (_options.BusName is { } name)
        {
            _name = await BusName.AcquireAsync(connection, name, _options.NameOptions, cancellationToken).ConfigureAwait(false);
            LogNameAcquired(_logger, name, connection.UniqueName ?? "");
            _name.Lost += OnNameLost;
        }
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (_name is { } name)
        {
            name.Lost -= OnNameLost;
            await name.DisposeAsync().ConfigureAwait(false);
            LogNameReleased(_logger, name.Name);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_name is { } name)
        {
            await name.DisposeAsync().ConfigureAwait(false);
        }

        foreach (IDisposable export in _exports)
        {
            export.Dispose();
        }

        _connection?.Dispose();
    }

    private void OnNameLost(object? sender, BusNameLostEventArgs e)
    {
        if (_options.StopWhenNameLost)
        {
            LogNameLostStopping(_logger, e.ToString());
            _lifetime.StopApplication();
        }
        else
        {
            LogNameLost(_logger, e.ToString());
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Bus name {Name} acquired by {UniqueName}")]
    private static partial void LogNameAcquired(ILogger logger, string name, string uniqueName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Bus name {Name} released")]
    private static partial void LogNameReleased(ILogger logger, string name);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping: {Reason}")]
    private static partial void LogNameLostStopping(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Reason}")]
    private static partial void LogNameLost(ILogger logger, string reason);
}
