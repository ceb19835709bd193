using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;

#pragma warning disable CA1873 // the arguments are the point of these benchmarks

namespace SdDaemon.Benchmarks.Logging;

/// <summary>
/// End-to-end throughput: 1000 messages logged and all their bytes written to the sink (/dev/null
/// behind a byte counter), so that the console logger's background queue is measured too, not only
/// the enqueue on the caller's thread. Per message (OperationsPerInvoke = 1000).
/// <c>Journal_1000_Templates_NoWrite</c> is the same logger into <see cref="Stream.Null"/>: the
/// library's own cost (formatting, encoding, locking) without the write(2), to tell the two apart.
/// </summary>
[MemoryDiagnoser]
public class LoggingThroughputBenchmarks
{
    private const int Messages = 1000;

    private CountingStream _journalSink = null!;
    private CountingStream _consoleSink = null!;
    private ILoggerFactory _journalFactory = null!;
    private ILoggerFactory _consoleFactory = null!;
    private ILoggerFactory _noWriteFactory = null!;
    private ILogger _journal = null!;
    private ILogger _console = null!;
    private ILogger _noWrite = null!;
    private TextWriter? _savedOut;
    private long _journalBytesPerMessage;
    private long _consoleBytesPerMessage;

    [GlobalSetup]
    public void Setup()
    {
        _journalSink = new CountingStream();
        _journalFactory = LoggerFactory.Create(b => b.AddProvider(
            JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr }, _journalSink)));
        _journal = _journalFactory.CreateLogger("Bench.Category");
        _noWriteFactory = LoggerFactory.Create(b => b.AddProvider(
            JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr }, Stream.Null)));
        _noWrite = _noWriteFactory.CreateLogger("Bench.Category");

        _savedOut = Console.Out;
        _consoleSink = new CountingStream();
        Console.SetOut(new StreamWriter(_consoleSink) { AutoFlush = true });
        _consoleFactory = LoggerFactory.Create(b => b.AddSystemdConsole());
        _console = _consoleFactory.CreateLogger("Bench.Category");

        _journalBytesPerMessage = Measure(_journal, _journalSink);
        _consoleBytesPerMessage = Measure(_console, _consoleSink);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _journalFactory.Dispose();
        _consoleFactory.Dispose();
        _noWriteFactory.Dispose();
        if (_savedOut is not null)
        {
            Console.SetOut(_savedOut);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public void SystemdConsole_1000_Templates() => Run(_console, _consoleSink, _consoleBytesPerMessage);

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Journal_1000_Templates() => Run(_journal, _journalSink, _journalBytesPerMessage);

    [Benchmark(OperationsPerInvoke = Messages)]
    public void Journal_1000_Templates_NoWrite()
    {
        for (int i = 0; i < Messages; i++)
        {
            Log(_noWrite);
        }
    }

    private static void Log(ILogger logger) => logger.LogInformation("order {OrderId} for {Customer}", 42, "alice");

    private static void Run(ILogger logger, CountingStream sink, long bytesPerMessage)
    {
        long target = sink.Bytes + (Messages * bytesPerMessage);
        for (int i = 0; i < Messages; i++)
        {
            Log(logger);
        }

        var spinner = default(SpinWait);
        while (sink.Bytes < target)
        {
            spinner.SpinOnce();
        }
    }

    private static long Measure(ILogger logger, CountingStream sink)
    {
        long before = sink.Bytes;
        Log(logger);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (sink.Bytes == before && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }

        Thread.Sleep(50);
        return sink.Bytes - before;
    }

    /// <summary>/dev/null (one write(2) per Write, no managed buffer) that counts the bytes it took.</summary>
    private sealed class CountingStream : Stream
    {
        private readonly FileStream _devNull = new("/dev/null", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        private long _bytes;

        public long Bytes => Interlocked.Read(ref _bytes);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _devNull.Write(buffer);
            Interlocked.Add(ref _bytes, buffer.Length);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _devNull.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
