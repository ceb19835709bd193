using System.Net.Sockets;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;

#pragma warning disable CA1873 // the arguments are the point of these benchmarks

namespace SdDaemon.Benchmarks.Logging;

/// <summary>
/// One structured entry (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER and two fields) through
/// <see cref="JournalNativeWriter"/> against libsystemd's sd_journal_sendv (P/Invoke into
/// libsystemd.so.0; sd_journal_send is varargs), both into the same datagram socket at
/// /run/systemd/journal/socket (libsystemd's path is fixed), drained by a thread.
/// Run it in a private mount namespace so that nothing on the machine changes:
/// <c>unshare -m --propagation private sh -c 'mount -t tmpfs tmpfs /run/systemd &amp;&amp; mkdir -p /run/systemd/journal &amp;&amp; exec dotnet ...'</c>.
/// </summary>
[MemoryDiagnoser]
public unsafe class NativeJournalBenchmarks
{
    private const string SocketPath = "/run/systemd/journal/socket";

    private static readonly byte[][] s_fields =
    [
        "MESSAGE=order 42 for alice"u8.ToArray(),
        "PRIORITY=6"u8.ToArray(),
        "SYSLOG_IDENTIFIER=bench"u8.ToArray(),
        "ORDER_ID=42"u8.ToArray(),
        "CUSTOMER=alice"u8.ToArray(),
    ];

    private Socket? _drain;
    private Thread? _drainThread;
    private volatile bool _stop;
    private JournalNativeWriter _writer = null!;
    private JournalEntry _entry = null!;
    private GCHandle[] _pins = [];
    private IoVec[] _iovecs = [];
    private ILoggerFactory _loggerFactory = null!;
    private ILogger _logger = null!;

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [GlobalSetup]
    public void Setup()
    {
        if (!Directory.Exists("/run/systemd/journal") || File.Exists(SocketPath))
        {
            throw new InvalidOperationException("Run inside a private mount namespace with an empty /run/systemd/journal (see the class comment).");
        }

        _drain = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _drain.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _drain.ReceiveBufferSize = 8 * 1024 * 1024;
        _drain.ReceiveTimeout = 200;
        _drainThread = new Thread(() =>
        {
            byte[] buffer = new byte[64 * 1024];
            while (!_stop)
            {
                try
                {
                    _drain.Receive(buffer);
                }
                catch (SocketException)
                {
                }
            }
        }) { IsBackground = true };
        _drainThread.Start();

        _writer = JournalNativeWriter.Create(SocketPath);
        _entry = new JournalEntry();
        _loggerFactory = LoggerFactory.Create(b => b.AddProvider(JournalLoggerProvider.Create(
            new JournalLoggerOptions { Output = JournalOutput.Native, SyslogIdentifier = "bench" }, native: _writer)));
        _logger = _loggerFactory.CreateLogger("Bench.Category");
        _pins = s_fields.Select(f => GCHandle.Alloc(f, GCHandleType.Pinned)).ToArray();
        _iovecs = s_fields.Select((f, i) => new IoVec { Base = (void*)_pins[i].AddrOfPinnedObject(), Length = (nuint)f.Length }).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _drainThread?.Join();
        _drain?.Dispose();
        File.Delete(SocketPath);
        _loggerFactory.Dispose();
        _writer.Dispose();
        _entry.Dispose();
        foreach (GCHandle pin in _pins)
        {
            pin.Free();
        }
    }

    [Benchmark(Baseline = true)]
    public int Libsystemd_sd_journal_sendv()
    {
        fixed (IoVec* iov = _iovecs)
        {
            return SdJournalSendv(iov, _iovecs.Length);
        }
    }

    [Benchmark]
    public bool JournalNativeWriter_Send()
    {
        _entry.Clear();
        _entry.Add("MESSAGE", "order 42 for alice")
            .AddPriority(SyslogPriority.Info)
            .Add("SYSLOG_IDENTIFIER", "bench")
            .Add("ORDER_ID", 42L)
            .Add("CUSTOMER", "alice");
        return _writer.Send(_entry).IsSent;
    }

    /// <summary>What AddJournal costs per call under systemd (stderr is the journal, so the output is
    /// native): the template message of LoggingThroughputBenchmarks through the provider, which builds
    /// a larger entry than the two above (MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, LOGGER_CATEGORY,
    /// MESSAGE_TEMPLATE and a field per argument), one datagram into the same socket.</summary>
    [Benchmark]
    public void JournalLogger_Native_Template() => _logger.LogInformation("order {OrderId} for {Customer}", 42, "alice");

    [DllImport("libsystemd.so.0", EntryPoint = "sd_journal_sendv")]
    private static extern int SdJournalSendv(IoVec* iov, int n);
}
