using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;

#pragma warning disable CA1873 // the arguments are the point of these benchmarks

namespace SdDaemon.Benchmarks.Logging;

/// <summary>
/// The journal provider's &lt;N&gt; stderr form against Microsoft.Extensions.Logging.Console with its
/// systemd formatter (AddSystemdConsole), the same messages, the same sink: /dev/null opened without
/// a managed buffer, so that every flush is a write(2). Note the console logger formats on the calling
/// thread and writes from a background thread (a queue); the journal provider writes synchronously.
/// </summary>
[MemoryDiagnoser]
public class LoggingProviderBenchmarks
{
    private ILoggerFactory _journalFactory = null!;
    private ILoggerFactory _consoleFactory = null!;
    private ILogger _journal = null!;
    private ILogger _console = null!;
    private TextWriter? _savedOut;
    private Exception _error = null!;

    [GlobalSetup]
    public void Setup()
    {
        Stream DevNull() => new FileStream("/dev/null", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);

        _journalFactory = LoggerFactory.Create(b => b.AddProvider(
            JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr }, DevNull())));
        _journal = _journalFactory.CreateLogger("Bench.Category");

        _savedOut = Console.Out;
        Console.SetOut(new StreamWriter(DevNull()) { AutoFlush = true });
        _consoleFactory = LoggerFactory.Create(b => b.AddSystemdConsole());
        _console = _consoleFactory.CreateLogger("Bench.Category");

        try
        {
            throw new InvalidOperationException("outer", new ArgumentException("inner"));
        }
        catch (InvalidOperationException e)
        {
            _error = e;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journalFactory.Dispose();
        _consoleFactory.Dispose(); // drains the console logger's queue
        if (_savedOut is not null)
        {
            Console.SetOut(_savedOut);
        }
    }

    [Benchmark(Baseline = true)]
    public void SystemdConsole_Template() => _console.LogInformation("order {OrderId} for {Customer}", 42, "alice");

    [Benchmark]
    public void Journal_Template() => _journal.LogInformation("order {OrderId} for {Customer}", 42, "alice");

    [Benchmark]
    public void SystemdConsole_MultiLine() => _console.LogWarning("line one\nline two\nline three");

    [Benchmark]
    public void Journal_MultiLine() => _journal.LogWarning("line one\nline two\nline three");

    [Benchmark]
    public void SystemdConsole_Exception() => _console.LogError(_error, "failed");

    [Benchmark]
    public void Journal_Exception() => _journal.LogError(_error, "failed");
}
