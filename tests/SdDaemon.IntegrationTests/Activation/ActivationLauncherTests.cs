using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>SdDaemon.Testing's ActivationLauncher starts a real program the way the manager does (L-1, L-2, L-4, L-7).</summary>
public sealed class ActivationLauncherTests
{
    [Fact]
    public void L1_L7_the_program_gets_the_descriptors_from_fd_3_with_their_names_and_its_own_LISTEN_PID()
    {
        string directory = Directory.CreateTempSubdirectory("sdd-launcher-").FullName;
        string report = Path.Combine(directory, "report");
        using var web = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        web.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        web.Listen(16);
        using var datagrams = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        datagrams.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory, "dgram")));

        using ActivatedProcess daemon = ActivationLauncher.Start(TestDaemon.DotnetPath, [TestDaemon.DllPath, $"activation={report}", "serve=web"],
            [new PassedFile(web.SafeHandle, "web"), new PassedFile(datagrams.SafeHandle, "dgram")],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = null });

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000 };
        client.Connect(web.LocalEndPoint!);
        var buffer = new byte[256];
        int n = client.Receive(buffer);
        Assert.Equal($"hello from web {daemon.Pid}\n", Encoding.UTF8.GetString(buffer, 0, n));
        Assert.True(daemon.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, daemon.ExitCode);

        string[] lines = File.ReadAllLines(report);
        Assert.Equal("outcome=Activated errno=0 count=2", lines[0]);
        Assert.Equal("fd=3 name=web kind=Socket domain=2 type=Stream listening=True", lines[1]);
        Assert.Equal("fd=4 name=dgram kind=Socket domain=1 type=Dgram listening=False", lines[2]);
        Assert.Contains("env LISTEN_PID=(unset)", lines); // unsetEnvironment: true
        Assert.Contains("child-fds=", lines);             // CLOEXEC: a child holds none of them
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public void A_name_the_manager_would_refuse_is_an_ArgumentException()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.Throws<ArgumentException>(() => ActivationLauncher.Start("/bin/true", [], [new PassedFile(socket.SafeHandle, "bad:name")]));
    }
}
