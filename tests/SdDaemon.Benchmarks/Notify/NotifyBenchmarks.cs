using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using SdDaemon.Interop;

namespace SdDaemon.Benchmarks.Notify;

/// <summary>
/// Per-message cost of sending WATCHDOG=1 to a bound datagram socket that a thread drains, side by
/// side: the floor (a raw send on one connected socket), SdDaemon, libsystemd's own sd_notify
/// (a socket per call) through P/Invoke, and a managed socket per message (what
/// Microsoft.Extensions.Hosting.Systemd and Tmds.Systemd do).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 12)]
public unsafe partial class NotifyBenchmarks
{
    private static readonly byte[] Watchdog = Encoding.ASCII.GetBytes("WATCHDOG=1");
    private static readonly byte[] WatchdogCString = Encoding.ASCII.GetBytes("WATCHDOG=1\0");
    private string _directory = "";
    private string _path = "";
    private int _receiver = -1;
    private int _connected = -1;
    private Thread? _drain;
    private volatile bool _stop;
    private NotifyChannel? _channel;
    private UnixDomainSocketEndPoint? _endPoint;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("sdd-bench-").FullName;
        _path = Path.Combine(_directory, "notify");
        byte[] address = UnixSocketAddress.Encode(_path);
        _receiver = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        int size = 8 * 1024 * 1024;
        Libc.SetSockOpt(_receiver, Libc.SOL_SOCKET, Libc.SO_RCVBUF, &size, sizeof(int));
        fixed (byte* a = address)
        {
            if (Libc.Bind(_receiver, a, (uint)address.Length) != 0)
            {
                throw new IOException("bind failed");
            }

            _connected = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
            if (Libc.Connect(_connected, a, (uint)address.Length) != 0)
            {
                throw new IOException("connect failed");
            }
        }

        _drain = new Thread(Drain) { IsBackground = true };
        _drain.Start();

        _channel = NotifyChannel.Create(_path);
        _endPoint = new UnixDomainSocketEndPoint(_path);
        // SdDaemon reads .NET's environment; libsystemd reads the native one, which
        // Environment.SetEnvironmentVariable does not change: set both.
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", _path);
        // libsystemd reads the native environment, which Environment.SetEnvironmentVariable does not change.
        if (SetEnv("NOTIFY_SOCKET", _path, 1) != 0)
        {
            throw new IOException("setenv failed");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        Libc.Shutdown(_receiver, 0);
        _drain?.Join();
        Libc.Close(_receiver);
        Libc.Close(_connected);
        _channel?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Baseline = true, Description = "raw send, one connected socket (floor)")]
    public nint RawConnectedSend()
    {
        fixed (byte* p = Watchdog)
        {
            return Libc.Send(_connected, p, (nuint)Watchdog.Length, Libc.MSG_NOSIGNAL);
        }
    }

    [Benchmark(Description = "SdDaemon NotifyChannel.Send(WATCHDOG=1)")]
    public NotifyResult SdDaemonSend() => _channel!.Send(Notification.Watchdog);

    [Benchmark(Description = "SdDaemon Notification.Watchdog.Send() ($NOTIFY_SOCKET)")]
    public NotifyResult SdDaemonSendFromEnvironment() => Notification.Watchdog.Send();

    [Benchmark(Description = "libsystemd sd_notify (P/Invoke)")]
    public int LibsystemdSdNotify()
    {
        fixed (byte* state = WatchdogCString)
        {
            return SdNotify(0, state);
        }
    }

    [Benchmark(Description = "socket per message (MEH.Systemd, Tmds.Systemd)")]
    public int SocketPerMessage()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        return socket.SendTo(Watchdog, _endPoint!);
    }

    private void Drain()
    {
        byte* buffer = stackalloc byte[4096];
        while (!_stop)
        {
            if (Libc.Recv(_receiver, buffer, 4096, 0) <= 0 && _stop)
            {
                return;
            }
        }
    }

    [LibraryImport("libsystemd.so.0", EntryPoint = "sd_notify")]
    private static partial int SdNotify(int unsetEnvironment, byte* state);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
