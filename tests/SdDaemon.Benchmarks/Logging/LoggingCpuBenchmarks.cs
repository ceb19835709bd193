using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;

#pragma warning disable CA1873 // the arguments are the point of this benchmark

namespace SdDaemon.Benchmarks.Logging;

/// <summary>
/// The library's own cost per template message, without the system call: the same call as
/// <see cref="LoggingThroughputBenchmarks"/> (<c>LogInformation("order {OrderId} for {Customer}", 42, "alice")</c>)
/// through the PrefixedStderr form into <see cref="Stream.Null"/>, so that what the throughput figure
/// spends in write(2) and what it spends in formatting, encoding and locking can be told apart.
/// Per message (OperationsPerInvoke = 1000).
/// </summary>
[MemoryDiagnoser]
public class LoggingCpuBenchmarks
{
    private const int Messages = 1000;

    private ILoggerFactory _factory = null!;
    private ILogger _journal = null!;

    [GlobalSetup]
    public void Setup()
    {
        _factory = LoggerFactory.Create(b => b.AddProvider(
            JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr }, Stream.Null)));
        _journal = _factory.CreateLogger("Bench.Category");
    }

    [GlobalCleanup]
    public void Cleanup() => _factory.Dispose();

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Journal_NullStream_1000_Templates()
    {
        for (int i = 0; i < Messages; i++)
        {
            _journal.LogInformation("order {OrderId} for {Customer}", 42, "alice");
        }
    }
}
