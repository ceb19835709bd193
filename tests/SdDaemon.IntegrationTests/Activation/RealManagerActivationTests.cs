using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>Socket units and the fd store of a real manager (every manager of the matrix).</summary>
public abstract class RealManagerActivationTests(IRealManager manager) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _dir = manager.CreateSharedDirectory("sdd-rma-");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static async Task<string> ConnectAndRead(int port, TimeSpan patience)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                using var stream = new NetworkStream(client);
                using var reader = new StreamReader(stream, Encoding.UTF8);
                return await reader.ReadToEndAsync().WaitAsync(patience);
            }
            catch (SocketException) when (clock.Elapsed < patience)
            {
                await Task.Delay(100);
            }
        }
    }

    private static string[] WaitForReport(string path, Func<string[], bool>? until = null)
    {
        var clock = Stopwatch.StartNew();
        string[] lines = [];
        while (clock.Elapsed < Patience)
        {
            if (File.Exists(path))
            {
                lines = File.ReadAllLines(path);
                if (lines.Any(l => l.StartsWith("child-fds=", StringComparison.Ordinal)) && (until is null || until(lines)))
                {
                    return lines;
                }
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"{path}: [{string.Join(" | ", lines)}]");
    }

    [RealManagerFact]
    public async Task L8_a_socket_unit_with_FileDescriptorName_passes_web_and_the_daemon_serves_it()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("sock");
        int port = SocketActivateTests.FreePort();
        string report = Path.Combine(_dir, "report");
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", "-p", "NotifyAccess=main",
                    .. TestDaemon.Command($"activation={report}", "ready", "serve=web", "wait")])
                .EnsureSuccess("systemd-run");

            // The manager listens; the first connection starts the service.
            string reply = await ConnectAndRead(port, Patience);
            Assert.StartsWith("hello from web ", reply, StringComparison.Ordinal);
            Assert.Equal(
                [
                    "outcome=Activated errno=0 count=1",
                    "fd=3 name=web kind=Socket domain=2 type=Stream listening=True",
                    "env LISTEN_PID=(unset)",
                    "env LISTEN_FDS=(unset)",
                    "env LISTEN_FDNAMES=(unset)",
                    "child-env=",
                    "child-fds=",
                ],
                WaitForReport(report));
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", Patience));
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }

    [RealManagerFact]
    public async Task L8_after_a_restart_the_stored_fd_follows_the_socket_units_fd_with_its_name()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("store");
        int port = SocketActivateTests.FreePort();
        string report = Path.Combine(_dir, "report");
        string stored = Path.Combine(_dir, "stored-file");
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "FileDescriptorStoreMax=4",
                    .. TestDaemon.Command($"activation={report}", $"fdstore=kept:{stored}", "fdstore=also:/dev/null", "ready", "serve-loop=web", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.StartsWith("hello from web ", await ConnectAndRead(port, Patience), StringComparison.Ordinal);
            Assert.Equal("outcome=Activated errno=0 count=1", WaitForReport(report)[0]);
            Assert.Equal("2", manager.WaitForProperty(unit + ".service", "NFileDescriptorStore", "2", Patience));

            File.Delete(report);
            manager.Systemctl("restart", unit + ".service").EnsureSuccess("systemctl restart");
            string[] lines = WaitForReport(report);

            // Socket-unit fds first, then the fd store (whose order the manager does not promise).
            Assert.Equal("outcome=Activated errno=0 count=3", lines[0]);
            Assert.Equal("fd=3 name=web kind=Socket domain=2 type=Stream listening=True", lines[1]);
            Assert.Equal(
                ["fd=? name=also kind=CharacterDevice domain=0 type=Unknown listening=False", "fd=? name=kept kind=RegularFile domain=0 type=Unknown listening=False"],
                lines[2..4].Select(l => System.Text.RegularExpressions.Regex.Replace(l, "^fd=[45] ", "fd=? ")).Order(StringComparer.Ordinal));
            Assert.Equal(["fd=4", "fd=5"], lines[2..4].Select(l => l.Split(' ')[0]).Order(StringComparer.Ordinal));
            Assert.StartsWith("hello from web ", await ConnectAndRead(port, Patience), StringComparison.Ordinal);
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }
}

[Collection(SystemdCollection.Name)]
public sealed class RealManagerActivationTestsUserManager(SystemdUserManager manager) : RealManagerActivationTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class RealManagerActivationTests252(Systemd252Pid1 manager) : RealManagerActivationTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class RealManagerActivationTests257(Systemd257Pid1 manager) : RealManagerActivationTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class RealManagerActivationTests262(Systemd262Pid1 manager) : RealManagerActivationTests(manager);
