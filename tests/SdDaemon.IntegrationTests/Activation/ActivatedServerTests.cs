using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>examples/ActivatedServer under a real manager (every manager of the matrix): served connections and
/// zero refused connections across <c>systemctl restart</c>.</summary>
public abstract class ActivatedServerTests(IRealManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static string[] Command(params string[] args) =>
        [TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "ActivatedServer.dll"), .. args];

    private sealed class Hammer
    {
        public int Served;
        public int Refused;
        public ConcurrentBag<string> Failures { get; } = [];
        public ConcurrentDictionary<string, int> Greetings { get; } = new();
    }

    /// <summary>Connects in a loop, one connection after the other, until stopped; reads each greeting.</summary>
    private static Task<Hammer> HammerAsync(int port, Hammer hammer, CancellationToken stop) => Task.Run(async () =>
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                using var stream = new NetworkStream(client);
                using var reader = new StreamReader(stream, Encoding.ASCII);
                string line = await reader.ReadLineAsync().WaitAsync(Patience) ?? "(eof)";
                if (line.StartsWith("hello from ActivatedServer ", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref hammer.Served);
                    hammer.Greetings.AddOrUpdate(line, 1, (_, n) => n + 1);
                }
                else
                {
                    hammer.Failures.Add(line);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                Interlocked.Increment(ref hammer.Refused);
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                hammer.Failures.Add(e.GetType().Name + ": " + e.Message);
            }
        }

        return hammer;
    });

    private void RestartTwiceWhileHammering(string service, int port, string expectedOrigin)
    {
        using var stop = new CancellationTokenSource();
        var hammer = new Hammer();
        Task<Hammer> running = HammerAsync(port, hammer, stop.Token);

        // Each instance greets before the next restart (fixed 500/700 ms sleeps assumed a freshly
        // started server answers within them, which a loaded machine need not do).
        void WaitUntilServedBy(string pid) =>
            Assert.True(
                SpinWait.SpinUntil(() => hammer.Greetings.Keys.Any(g => g.Split(' ')[3] == pid), Patience),
                $"{pid} served nothing: [{string.Join(" | ", hammer.Greetings.Keys)}] {string.Join(" | ", hammer.Failures)}");

        WaitUntilServedBy(manager.Property(service, "MainPID"));
        for (int i = 0; i < 2; i++)
        {
            manager.Systemctl("restart", service).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(service, "ActiveState", "active", Patience));
            WaitUntilServedBy(manager.Property(service, "MainPID"));
        }

        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref hammer.Served) >= 10, Patience), $"only {hammer.Served} served");
        stop.Cancel();
        Assert.Same(hammer, running.Result);
        Assert.True(hammer.Refused == 0, $"{hammer.Refused} connections refused, {hammer.Served} served");
        Assert.Empty(hammer.Failures);
        Assert.True(hammer.Served >= 10, $"only {hammer.Served} served");
        // Three instances (the first and two restarts) served, the restarted ones with the passed socket.
        Assert.Equal(3, hammer.Greetings.Keys.Select(g => g.Split(' ')[3]).Distinct().Count());
        Assert.Contains(hammer.Greetings.Keys, g => g.EndsWith($"({expectedOrigin})", StringComparison.Ordinal));
    }

    [RealManagerFact]
    public void Without_a_socket_unit_the_fd_store_keeps_the_listener_and_restarts_refuse_no_connection()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("srv-store");
        int port = SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "FileDescriptorStoreMax=1",
                    .. Command("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture))])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("1", manager.WaitForProperty(unit, "NFileDescriptorStore", "1", Patience));
            Assert.StartsWith($"serving on 127.0.0.1:{port} (bound)", manager.Property(unit, "StatusText"), StringComparison.Ordinal);

            RestartTwiceWhileHammering(unit, port, "fd store");
            Assert.Equal($"serving on 127.0.0.1:{port} (fd store)", manager.Property(unit, "StatusText"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void With_a_socket_unit_it_is_activated_by_a_connection_and_restarts_refuse_no_connection()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("srv-sock");
        int port = SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", .. Command()])
                .EnsureSuccess("systemd-run");
            string first = RealManagerActivationTests.ConnectAndRead(port, Patience).Result;
            Assert.Matches(@"^hello from ActivatedServer \d+ \(socket unit\)\n$", first);
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", Patience));

            RestartTwiceWhileHammering(unit + ".service", port, "socket unit");
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }
}

[Collection(SystemdCollection.Name)]
public sealed class ActivatedServerTestsUserManager(SystemdUserManager manager) : ActivatedServerTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class ActivatedServerTests252(Systemd252Pid1 manager) : ActivatedServerTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class ActivatedServerTests257(Systemd257Pid1 manager) : ActivatedServerTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class ActivatedServerTests262(Systemd262Pid1 manager) : ActivatedServerTests(manager);
