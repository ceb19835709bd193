using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Hosting;
using Xunit;

namespace SdDaemon.Tests.MemoryPressure;

/// <summary>The host's response to memory pressure: the user's handlers, then a compacting full
/// collection; "not available" said once (spec M-1, M-4).</summary>
public sealed class MemoryPressureServiceTests
{
    private sealed class Handler(List<string> order, string name, bool fail) : IMemoryPressureHandler
    {
        public void OnMemoryPressure()
        {
            order.Add(name);
            if (fail)
            {
                throw new InvalidOperationException("cache bug");
            }
        }
    }

    private sealed class ListLogger(List<string> lines) : ILogger<MemoryPressureService>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Add($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception.Message)}");
    }

    [Fact]
    public void M4_every_handler_runs_even_after_one_throws_then_a_full_compacting_collection()
    {
        var order = new List<string>();
        var log = new List<string>();
        using var service = new MemoryPressureService(
            Options.Create(new SdDaemonHostOptions()),
            [new Handler(order, "first", fail: true), new Handler(order, "second", fail: false)],
            new ListLogger(log));
        int gen2Before = GC.CollectionCount(2);

        service.OnPressure();

        Assert.Equal(["first", "second"], order);
        Assert.True(GC.CollectionCount(2) > gen2Before, "no full collection");
        Assert.Contains("Error: Memory pressure handler Handler failed cache bug", log);
        Assert.Single(log, l => l.StartsWith("Information: Memory pressure: managed heap ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task M1_without_MEMORY_PRESSURE_WATCH_it_says_once_that_there_is_nothing_to_watch()
    {
        Assert.Null(Environment.GetEnvironmentVariable(EnvironmentVariables.MemoryPressureWatch)); // the test host has none
        var log = new List<string>();
        using var service = new MemoryPressureService(Options.Create(new SdDaemonHostOptions()), [], new ListLogger(log));

        await service.StartAsync(CancellationToken.None);
        await service.StopAsync(CancellationToken.None);

        Assert.Equal(["Information: Memory pressure watch not available: MEMORY_PRESSURE_WATCH is unset (no MemoryPressureWatch= in the unit, systemd before 254, or no service manager)"], log);
    }
}
