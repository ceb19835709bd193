using System.Runtime.Versioning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SdDaemon.Hosting;

/// <summary>
/// The watchdog for the host: when the unit has WatchdogSec=, the keep-alive (a dedicated thread,
/// pinging every half timeout) runs while the host runs, and stops pinging while the host's health
/// checks report Unhealthy, so that the manager restarts a wedged application. Health checks are
/// async and may be slow, so they run on their own loop; the keep-alive reads the last verdict.
/// </summary>
/// <remarks>
/// The loop runs the registered checks (<c>AddHealthChecks()</c>) itself, each in its own scope and with
/// its registration's timeout and failure status, as HealthCheckService does, but without its log line
/// per check: HealthCheckService logs an error for every Unhealthy check, which at WatchdogSec=1 was a
/// <c>fail:</c> line twice a second for as long as the application stayed unhealthy. This loop logs the
/// transitions only: one warning when pings stop (with the failing checks and why), one information
/// line when they resume.
/// </remarks>
[SupportedOSPlatform("linux")]
internal sealed partial class HealthWatchdogService : IHostedService, IDisposable
{
    private readonly ISdDaemonNotifier _notifier;
    private readonly IReadOnlyList<HealthCheckRegistration> _checks;
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private WatchdogKeepAlive? _keepAlive;
    private Task? _healthLoop;
    private volatile bool _healthy = true;

    public HealthWatchdogService(ISdDaemonNotifier notifier, ILogger<HealthWatchdogService> logger, IServiceScopeFactory scopes, IOptions<HealthCheckServiceOptions> health)
    {
        _notifier = notifier;
        _checks = [.. health.Value.Registrations];
        _scopes = scopes;
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

        if (!status.IsEnabled || !_notifier.IsUnderManager)
        {
            return Task.CompletedTask;
        }

        // Through the abstraction: a notifier the application registered gets the pings too.
        _keepAlive = Watchdog.StartKeepAlive(status.Timeout, () => _healthy, _notifier.Notify);
        if (_checks.Count > 0)
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
                List<string> failing = await FailingChecksAsync(cancellationToken).ConfigureAwait(false);
                bool healthy = failing.Count == 0;
                if (healthy != _healthy)
                {
                    // The transition, once: not a line per check while it lasts.
                    if (healthy)
                    {
                        LogHealthy(_logger);
                    }
                    else
                    {
                        LogUnhealthy(_logger, string.Join("; ", failing));
                    }
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

    /// <summary>Runs every registered check concurrently; the Unhealthy ones as "name: description".</summary>
    private async Task<List<string>> FailingChecksAsync(CancellationToken cancellationToken)
    {
        var runs = new Task<HealthCheckResult>[_checks.Count];
        for (int i = 0; i < runs.Length; i++)
        {
            runs[i] = RunCheckAsync(_checks[i], cancellationToken);
        }

        HealthCheckResult[] results = await Task.WhenAll(runs).ConfigureAwait(false);
        var failing = new List<string>();
        for (int i = 0; i < results.Length; i++)
        {
            if (results[i].Status == HealthStatus.Unhealthy)
            {
                failing.Add(results[i].Description is { Length: > 0 } why ? $"{_checks[i].Name}: {why}" : _checks[i].Name);
            }
        }

        return failing;
    }

    /// <summary>One check as HealthCheckService runs it: a scope of its own, its timeout, and its
    /// FailureStatus when it throws or times out.</summary>
    private async Task<HealthCheckResult> RunCheckAsync(HealthCheckRegistration registration, CancellationToken cancellationToken)
    {
        await Task.Yield(); // a check that blocks before its first await must not hold up the others
        AsyncServiceScope scope = _scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (registration.Timeout != Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(registration.Timeout);
            }

            try
            {
                IHealthCheck check = registration.Factory(scope.ServiceProvider);
                return await check.CheckHealthAsync(new HealthCheckContext { Registration = registration }, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                return new HealthCheckResult(registration.FailureStatus, e is OperationCanceledException ? "timed out" : e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "WATCHDOG_USEC/WATCHDOG_PID are invalid; no watchdog: {Status}")]
    private static partial void LogWatchdogInvalid(ILogger logger, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Health is now Unhealthy; watchdog pings are paused until it recovers: {Failing}")]
    private static partial void LogUnhealthy(ILogger logger, string failing);

    [LoggerMessage(Level = LogLevel.Information, Message = "Health has recovered; watchdog pings resume")]
    private static partial void LogHealthy(ILogger logger);
}
