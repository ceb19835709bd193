using System.Runtime.Versioning;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SdDaemon.Hosting;

/// <summary>
/// The watchdog for the host: when the unit has WatchdogSec=, the keep-alive (a dedicated thread,
/// pinging every half timeout) runs while the host runs, and stops pinging while the host's health
/// checks report Unhealthy, so that the manager restarts a wedged application. Health checks are
/// async and may be slow, so they run on their own loop; the keep-alive reads the last verdict.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class HealthWatchdogService : IHostedService, IDisposable
{
    private readonly SystemdNotifier _notifier;
    private readonly HealthCheckService? _health;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private WatchdogKeepAlive? _keepAlive;
    private Task? _healthLoop;
    private volatile bool _healthy = true;

    public HealthWatchdogService(SystemdNotifier notifier, ILogger<HealthWatchdogService> logger, HealthCheckService? health = null)
    {
        _notifier = notifier;
        _health = health;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        WatchdogStatus status = Watchdog.Check(unsetEnvironment: true); // children must not ping for us
        if (status.IsFailed)
        {
            LogWatchdogInvalid(_logger, status.ToString());
            return Task.CompletedTask;
        }

        if (!status.IsEnabled || _notifier.Channel is not { } channel)
        {
            return Task.CompletedTask;
        }

        _keepAlive = Watchdog.StartKeepAlive(status.Timeout, () => _healthy, channel);
        if (_health is not null)
        {
            _healthLoop = Task.Run(() => CheckHealthAsync(_keepAlive.Interval, _stop.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_healthLoop is not null)
        {
            await _healthLoop.ConfigureAwait(false);
        }

        // Keep pinging until the host is really gone? No: the manager stops watching once we stop.
        _keepAlive?.Dispose();
    }

    public void Dispose()
    {
        _keepAlive?.Dispose();
        _stop.Dispose();
    }

    private async Task CheckHealthAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                HealthReport report = await _health!.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
                bool healthy = report.Status != HealthStatus.Unhealthy;
                if (healthy != _healthy)
                {
                    LogHealthChanged(_logger, report.Status.ToString());
                }

                _healthy = healthy;
                await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "WATCHDOG_USEC/WATCHDOG_PID are invalid; no watchdog: {Status}")]
    private static partial void LogWatchdogInvalid(ILogger logger, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health is now {Status}; watchdog pings are paused while Unhealthy")]
    private static partial void LogHealthChanged(ILogger logger, string status);
}
