using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tmds.DBus.Protocol;

namespace SdDaemon.DBus.Hosting;

/// <summary>
/// Holds a logind delay lock while the host runs (DB-8): on PrepareForShutdown(true) /
/// PrepareForSleep(true) the registered handlers run, bounded by InhibitDelayMaxSec=, then the
/// lock is released so that logind proceeds at once; after resume (or a cancelled shutdown) it is
/// taken again. Without a system bus or logind the host runs on without the lock (logged).
/// </summary>
internal sealed partial class SdDaemonInhibitorService : IHostedService, IAsyncDisposable
{
    private readonly SdDaemonInhibitorOptions _options;
    private readonly IServiceProvider _services;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private DBusConnection? _connection;
    private LoginManager? _logind;
    private InhibitorLock? _lock;
    private TimeSpan _delayMax;

    public SdDaemonInhibitorService(IOptions<SdDaemonInhibitorOptions> options, IServiceProvider services, ILogger<SdDaemonInhibitorService> logger)
    {
        _options = options.Value;
        _services = services;
        _logger = logger;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _connection = await DaemonBus.ConnectAsync(BusKind.System, cancellationToken: cancellationToken).ConfigureAwait(false);
            _logind = await LoginManager.ConnectAsync(_connection).ConfigureAwait(false);
            _delayMax = await _logind.GetInhibitDelayMaxAsync().ConfigureAwait(false);
            _logind.PrepareForShutdown += (_, starting) => _ = OnPrepareAsync(starting, shutdown: true);
            _logind.PrepareForSleep += (_, starting) => _ = OnPrepareAsync(starting, shutdown: false);
            await TakeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is BusUnavailableException or DBusExceptionBase)
        {
            LogNoLock(_logger, e.Message);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Release();
        }
        finally
        {
            _gate.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        Release();
        _logind?.Dispose();
        _connection?.Dispose();
        _stopping.Dispose();
        _gate.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task OnPrepareAsync(bool starting, bool shutdown)
    {
        try
        {
            await _gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            if (starting)
            {
                LogPreparing(_logger, shutdown ? "shutdown" : "sleep", _delayMax.TotalSeconds);
                // InhibitDelayMaxSec=infinity: logind waits for the lock as long as it takes, so the handlers are not cut short.
                using CancellationTokenSource bound = _delayMax == Timeout.InfiniteTimeSpan ? new() : new(_delayMax * _options.DelayShare);
                await RunHandlersAsync(shutdown, resumed: false, bound.Token).ConfigureAwait(false);
                Release(); // logind proceeds as soon as no delay lock is left
            }
            else if (!_stopping.IsCancellationRequested)
            {
                await TakeAsync().ConfigureAwait(false);
                if (!shutdown)
                {
                    await RunHandlersAsync(shutdown: false, resumed: true, _stopping.Token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e) when (e is BusUnavailableException or DBusExceptionBase or ObjectDisposedException)
        {
            LogNoLock(_logger, e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RunHandlersAsync(bool shutdown, bool resumed, CancellationToken cancellationToken)
    {
        IEnumerable<Func<Task>> work = shutdown
            ? _services.GetServices<IPrepareForShutdownHandler>().Select(h => (Func<Task>)(() => h.PrepareForShutdownAsync(cancellationToken)))
            : _services.GetServices<IPrepareForSleepHandler>().Select(h => (Func<Task>)(() => resumed ? h.ResumedAsync(cancellationToken) : h.PrepareForSleepAsync(cancellationToken)));
        foreach (Func<Task> run in work)
        {
            try
            {
                await run().ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // One failing handler must not keep the lock (and the machine) waiting for the rest.
                LogHandlerFailed(_logger, e);
            }
        }
    }

    private async Task TakeAsync()
    {
        if (_logind is not null && _lock is null)
        {
            _lock = await _logind.InhibitAsync(_options.What, _options.Who, _options.Why, InhibitMode.Delay).ConfigureAwait(false);
            LogTaken(_logger, _options.What);
        }
    }

    private void Release()
    {
        if (Interlocked.Exchange(ref _lock, null) is { } held)
        {
            held.Dispose();
            LogReleased(_logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running without an inhibitor lock: {Reason}")]
    private static partial void LogNoLock(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delay inhibitor lock taken ({What})")]
    private static partial void LogTaken(ILogger logger, InhibitWhat what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delay inhibitor lock released")]
    private static partial void LogReleased(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Preparing for {What} (InhibitDelayMaxSec={Seconds} s)")]
    private static partial void LogPreparing(ILogger logger, string what, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A prepare-for-shutdown/sleep handler failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception);
}
