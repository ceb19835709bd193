using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>Socket activation against the real systemd-socket-activate (no manager needed).</summary>
public sealed class SocketActivateTests : IDisposable
{
    private const string SocketActivate = "/usr/bin/systemd-socket-activate";
    private readonly string _dir = Directory.CreateTempSubdirectory("sdd-sa-").FullName;
    private Process? _activator;

    public void Dispose()
    {
        if (_activator is { HasExited: false })
        {
            _activator.Kill(entireProcessTree: true);
            _activator.WaitForExit();
        }

        _activator?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    internal static int FreePort(SocketType type = SocketType.Stream)
    {
        using var probe = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    private void Start(IEnumerable<string> options, params string[] steps)
    {
        var info = new ProcessStartInfo(SocketActivate)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string option in options.Concat(TestDaemon.Command(steps)))
        {
            info.ArgumentList.Add(option);
        }

        info.Environment.Remove("LISTEN_PID");
        info.Environment.Remove("LISTEN_FDS");
        info.Environment.Remove("LISTEN_FDNAMES");
        _activator = Process.Start(info)!;
        _activator.StandardError.ReadLineAsync(); // "Listening on ..." lines; keep the pipe drained
        _activator.BeginOutputReadLine();
    }

    private static async Task<string> ConnectAndRead(EndPoint endPoint, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
                await client.ConnectAsync(endPoint);
                using var stream = new NetworkStream(client);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return await reader.ReadToEndAsync().WaitAsync(patience);
            }
            catch (SocketException) when (clock.Elapsed < patience)
            {
                await Task.Delay(50); // the activator has not bound yet
            }
        }
    }

    private string[] WaitForFile(string path)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (File.Exists(path))
            {
                string[] lines = File.ReadAllLines(path);
                if (lines.Any(l => l.StartsWith("child-fds=", StringComparison.Ordinal)))
                {
                    return lines;
                }
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"{path} was not written");
    }

    [PeerFact(SocketActivate)]
    public async Task L7_several_listeners_with_fdname_arrive_in_order_with_their_names_and_serve()
    {
        int web = FreePort(), admin = FreePort();
        string unixPath = Path.Combine(_dir, "local.sock");
        string report = Path.Combine(_dir, "report");
        Start(["-l", $"127.0.0.1:{web}", "-l", $"127.0.0.1:{admin}", "-l", unixPath, "--fdname=web:admin:local"],
            $"activation={report}", "serve=admin");

        string reply = await ConnectAndRead(new IPEndPoint(IPAddress.Loopback, admin), TimeSpan.FromSeconds(30));
        Assert.StartsWith("hello from admin ", reply, StringComparison.Ordinal);
        Assert.Equal(
            [
                "outcome=Activated errno=0 count=3",
                "fd=3 name=web kind=Socket domain=2 type=Stream listening=True",
                "fd=4 name=admin kind=Socket domain=2 type=Stream listening=True",
                "fd=5 name=local kind=Socket domain=1 type=Stream listening=True",
                // L-6: unsetEnvironment removed them, also from a child's environment;
                // L-5: a child holds none of the passed fds.
                "env LISTEN_PID=(unset)",
                "env LISTEN_FDS=(unset)",
                "env LISTEN_FDNAMES=(unset)",
                "child-env=",
                "child-fds=",
            ],
            WaitForFile(report));
    }

    [PeerFact(SocketActivate)]
    public async Task L7_a_Unix_stream_listener_serves_through_ToSocket()
    {
        string unixPath = Path.Combine(_dir, "only.sock");
        string report = Path.Combine(_dir, "report");
        Start(["-l", unixPath, "--fdname=local"], $"activation={report}", "serve=local");
        string reply = await ConnectAndRead(new UnixDomainSocketEndPoint(unixPath), TimeSpan.FromSeconds(30));
        Assert.StartsWith("hello from local ", reply, StringComparison.Ordinal);
        Assert.Contains("fd=3 name=local kind=Socket domain=1 type=Stream listening=True", WaitForFile(report));
    }

    [PeerFact(SocketActivate)]
    public void L2_without_fdname_the_names_are_unknown_and_a_datagram_socket_answers()
    {
        int port = FreePort(SocketType.Dgram);
        string report = Path.Combine(_dir, "report");
        Start(["--datagram", "-l", $"127.0.0.1:{port}"], $"activation={report}", "serve=unknown");

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        client.ReceiveTimeout = 500;
        byte[] buffer = new byte[100];
        int n = 0;
        var clock = Stopwatch.StartNew();
        while (n == 0 && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            client.SendTo("ping"u8.ToArray(), new IPEndPoint(IPAddress.Loopback, port));
            try
            {
                n = client.Receive(buffer); // the first datagram starts the daemon; it answers the one it reads
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.ConnectionReset or SocketError.WouldBlock)
            {
            }
        }

        Assert.Equal("echo:ping", Encoding.UTF8.GetString(buffer, 0, n));
        string[] lines = WaitForFile(report);
        Assert.Equal("outcome=Activated errno=0 count=1", lines[0]);
        Assert.Equal("fd=3 name=unknown kind=Socket domain=2 type=Dgram listening=False", lines[1]);
    }

    [PeerFact(SocketActivate)]
    public async Task L8_accept_mode_passes_the_connection_which_ToStream_writes_to()
    {
        int port = FreePort();
        string report = Path.Combine(_dir, "report");
        Start(["--accept", "-l", $"127.0.0.1:{port}", "--fdname=connection"], $"activation={report}", "greet=connection");
        string reply = await ConnectAndRead(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(30));
        Assert.Matches(@"^hello from connection \d+ via NetworkStream\n$", reply);
        string[] lines = WaitForFile(report);
        Assert.Equal("outcome=Activated errno=0 count=1", lines[0]);
        Assert.Equal("fd=3 name=connection kind=Socket domain=2 type=Stream listening=False", lines[1]);
    }
}
