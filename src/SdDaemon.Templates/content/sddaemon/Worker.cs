using SdDaemon.Hosting;

namespace SdDaemonWorker;

/// <summary>The service's work. <see cref="ISdDaemonNotifier"/> shows progress in `systemctl status`.</summary>
public sealed partial class Worker(ILogger<Worker> logger, ISdDaemonNotifier notifier) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long rounds = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            rounds++;
            notifier.SetStatus($"{rounds} rounds done");   // STATUS=; "not listening" when started by hand
            LogRound(logger, rounds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Round {Round} done")]
    private static partial void LogRound(ILogger logger, long round);
}
