// A generic-host worker as a Type=notify systemd service (worker.service beside this file): what
// `dotnet new worker` gives, plus AddSdDaemon. The host sends READY=1 once started, STOPPING=1 on
// SIGTERM and exits 0; the worker reports its progress in STATUS= through an injected
// ISdDaemonNotifier; under WatchdogSec= the host pings WATCHDOG=1 while the health check below is
// not Unhealthy, so a worker stuck in one batch gets the unit restarted. Publishes with NativeAOT
// (.ci/aot checks it does, with no trim or AOT warning).
// Usage: Worker [--interval SECONDS]   (default 1: one batch a second)
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SdDaemon.Hosting;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSdDaemon(options => options.ReadyStatus = "waiting for the first batch");
builder.Services.AddSingleton(new WorkerOptions(TimeSpan.FromSeconds(builder.Configuration.GetValue("interval", 1.0))));
builder.Services.AddSingleton<Progress>();
builder.Services.AddHostedService<BatchWorker>();
builder.Services.AddHealthChecks().AddCheck<Progress>("batches");
builder.Build().Run();

internal sealed record WorkerOptions(TimeSpan Interval);

/// <summary>Does one batch per interval and says so in STATUS=, which `systemctl status` shows.</summary>
internal sealed partial class BatchWorker(ISdDaemonNotifier notifier, Progress progress, WorkerOptions options, ILogger<BatchWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Interval);
        int batches = 0;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            batches++; // the work itself would go here
            progress.Completed();
            notifier.SetStatus($"batches done: {batches}");
            LogBatch(logger, batches);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "batch {Batch} done")]
    private static partial void LogBatch(ILogger logger, int batch);
}

/// <summary>Unhealthy when no batch finished for three intervals: the host then stops its
/// watchdog pings and the manager restarts the stuck service (WatchdogSec=, Restart=).</summary>
internal sealed class Progress(WorkerOptions options) : IHealthCheck
{
    private long _lastBatch = Environment.TickCount64;

    public void Completed() => Interlocked.Exchange(ref _lastBatch, Environment.TickCount64);

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastBatch)) < 3 * options.Interval
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("no batch finished for three intervals"));
}
