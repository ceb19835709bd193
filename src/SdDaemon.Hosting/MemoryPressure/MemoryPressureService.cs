using System.Runtime;
using System.Runtime.Versioning;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SdDaemon.Hosting;

/// <summary>
/// Watches the unit's memory pressure (spec M-1..M-4) while the host runs: on each event (at most
/// once per <see cref="SdDaemonHostOptions.MemoryPressureMinimumInterval"/>) runs every
/// <see cref="IMemoryPressureHandler"/>, then, when <see cref="SdDaemonHostOptions.CompactOnMemoryPressure"/>,
/// a blocking, compacting, aggressive full garbage collection that also compacts the large
/// object heap and returns free memory to the kernel. Whether there is anything to watch is
/// logged once at start.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class MemoryPressureService : IHostedService, IDisposable
{
    private readonly SdDaemonHostOptions _options;
    private readonly IEnumerable<IMemoryPressureHandler> _handlers;
    private readonly ILogger _logger;
    private MemoryPressureWatch? _watch;

    public MemoryPressureService(IOptions<SdDaemonHostOptions> options, IEnumerable<IMemoryPressureHandler> handlers, ILogger<MemoryPressureService> logger)
    {
        _options = options.Value;
        _handlers = handlers;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        MemoryPressureWatchResult result = MemoryPressureWatch.Start(OnPressure, _options.MemoryPressureMinimumInterval);
        switch (result.Outcome)
        {
            case MemoryPressureWatchOutcome.Watching:
                _watch = result.Watch;
                LogWatching(_logger, result.Message);
                break;
            case MemoryPressureWatchOutcome.NotAvailable:
                LogNotAvailable(_logger, result.Message);
                break;
            default:
                LogFailed(_logger, result.Message);
                break;
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watch?.Dispose();
        _watch = null;
    }

    internal void OnPressure()
    {
        long before = GC.GetTotalMemory(forceFullCollection: false);
        foreach (IMemoryPressureHandler handler in _handlers)
        {
            try
            {
                handler.OnMemoryPressure();
            }
            catch (Exception e)
            {
                LogHandlerFailed(_logger, handler.GetType().Name, e);
            }
        }

        if (_options.CompactOnMemoryPressure)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        long after = GC.GetTotalMemory(forceFullCollection: false);
        LogShed(_logger, before, after);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory pressure: {Message}")]
    private static partial void LogWatching(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory pressure watch not available: {Message}")]
    private static partial void LogNotAvailable(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory pressure watch failed: {Message}")]
    private static partial void LogFailed(ILogger logger, string message);

    [LoggerMessage(Level = LogLevel.Error, Message = "Memory pressure handler {Handler} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string handler, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory pressure: managed heap {Before} -> {After} bytes")]
    private static partial void LogShed(ILogger logger, long before, long after);
}
