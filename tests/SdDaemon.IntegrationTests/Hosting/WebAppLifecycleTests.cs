using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Hosting;

/// <summary>examples/WebApp (Kestrel + SdDaemon.Hosting) under the real systemd 252 user manager.</summary>
[Collection(SystemdCollection.Name)]
public sealed class WebAppLifecycleTests(SystemdUserManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private static string[] WebApp(int port) =>
        [TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "WebApp.dll"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    [SystemdFact]
    public void Start_READY_status_two_restarts_with_the_listener_kept_then_stop_with_exit_0()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("webapp");
        try
        {
            string exitFile = Path.Combine(Directory.CreateTempSubdirectory("sdd-webapp-").FullName, "exit");
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "FileDescriptorStoreMax=1",
                "-p", $"ExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS >> {exitFile}'",
                .. WebApp(port)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("serving", manager.Property(unit, "StatusText"));
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));
            string firstPid = manager.Property(unit, "MainPID");
            Assert.Equal($"hello from {firstPid}\n", Get(port));

            // Zero downtime: clients connect in a loop across the restart; the listening socket
            // never closes (the fd store holds it), so none is refused.
            int refused = 0, served = 0;
            var otherErrors = new List<string>();
            var servedBy = new HashSet<string>();
            using var stop = new CancellationTokenSource();
            var clients = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        servedBy.Add(Get(port));
                        served++;
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                    {
                        refused++;
                    }
                    catch (Exception e) when (e is SocketException or Xunit.Sdk.XunitException)
                    {
                        otherErrors.Add(e.Message);
                    }
                }
            });
            clients.Start();
            Thread.Sleep(300);
            manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string secondPid = manager.Property(unit, "MainPID");
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));
            Thread.Sleep(300);
            manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string thirdPid = manager.Property(unit, "MainPID");
            Thread.Sleep(500);
            stop.Cancel();
            clients.Join();

            Assert.NotEqual(firstPid, secondPid);
            Assert.NotEqual(secondPid, thirdPid);
            Assert.Equal(0, refused);
            Assert.Empty(otherErrors);
            Assert.Contains($"hello from {firstPid}\n", servedBy);
            Assert.Contains($"hello from {secondPid}\n", servedBy);
            Assert.Contains($"hello from {thirdPid}\n", servedBy);
            Assert.True(served > 10, $"served {served}");
            string environ = File.ReadAllText($"/proc/{thirdPid}/environ").Replace('\0', ' ');
            Assert.Contains("LISTEN_FDNAMES=web", environ);
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));

            // SIGTERM: STOPPING=1, the host stops, the process exits 0.
            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            // What the manager saw of each instance's end (ExecStopPost= gets SERVICE_RESULT, EXIT_CODE, EXIT_STATUS):
            // three clean exits with status 0, never a kill.
            Assert.Equal(["success exited 0", "success exited 0", "success exited 0"], File.ReadAllLines(exitFile));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [SystemdFact]
    public void An_unhealthy_app_stops_pinging_and_the_watchdog_restarts_it_with_its_listener()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("websick");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "FileDescriptorStoreMax=1", "-p", "WatchdogSec=2",
                "-p", "TimeoutAbortSec=1", "-p", "Restart=on-failure", "-p", "RestartSec=100ms", .. WebApp(port)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string firstPid = manager.Property(unit, "MainPID");

            // Healthy: the keep-alive holds it up well past the watchdog timeout.
            Thread.Sleep(5000);
            Assert.Equal("0", manager.Property(unit, "NRestarts"));
            Assert.Equal(firstPid, manager.Property(unit, "MainPID"));

            Assert.Equal("sick\n", Get(port, "/sick"));
            Assert.Equal("1", manager.WaitForProperty(unit, "NRestarts", "1", Patience));
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string secondPid = manager.Property(unit, "MainPID");
            Assert.NotEqual(firstPid, secondPid);
            Assert.Equal($"hello from {secondPid}\n", Get(port)); // the same port: the listener came back from the fd store
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>A minimal HTTP/1.0 GET on a new connection; the body.</summary>
    private static string Get(int port, string path = "/")
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 10_000, SendTimeout = 10_000 };
        socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        socket.Send(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n"));
        var response = new StringBuilder();
        var buffer = new byte[4096];
        int n;
        while ((n = socket.Receive(buffer)) > 0)
        {
            response.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        string text = response.ToString();
        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(body > 0 && text.StartsWith("HTTP/1.", StringComparison.Ordinal), text);
        return text[(body + 4)..];
    }
}
