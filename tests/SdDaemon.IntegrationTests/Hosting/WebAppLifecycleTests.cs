using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.IntegrationTests.Infrastructure;
using SdDaemon.IntegrationTests.Logging;
using Xunit;

namespace SdDaemon.IntegrationTests.Hosting;

/// <summary>examples/WebApp (Kestrel + SdDaemon.Hosting) under a real manager (every manager of the matrix).</summary>
public abstract class WebAppLifecycleTests(IRealManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Makes sure a journald serves the manager's services (PID 1 runs its own).</summary>
    protected virtual void EnsureJournal() => manager.EnsureRunning();

    /// <summary>/proc/PID/environ where the service runs, one variable a line.</summary>
    private string Environ(string pid) =>
        (RealManager.ReadProc(manager, int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture), "environ") ?? "").Replace('\0', '\n');

    internal static string[] WebApp(int port) =>
        [TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "WebApp.dll"), "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)];

    [RealManagerFact]
    public void Start_READY_status_two_restarts_with_the_listener_kept_then_stop_with_exit_0()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("webapp");
        try
        {
            string exitFile = Path.Combine(manager.CreateSharedDirectory("sdd-webapp-"), "exit");
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
            int refused = 0, served = 0, unanswered = 0;
            var otherErrors = new List<string>();
            var servedBy = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>(); // read while the clients add
            // Each instance serves before the next restart (a fixed 300 ms was not always enough for a
            // new Kestrel's first answer on a loaded machine).
            void WaitUntilServedBy(string pid) =>
                Assert.True(SpinWait.SpinUntil(() => servedBy.ContainsKey($"hello from {pid}\n"), Patience), $"{pid} served nothing: [{string.Join(" | ", servedBy.Keys)}]");
            using var stop = new CancellationTokenSource();
            var clients = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        servedBy.TryAdd(Get(port), true);
                        served++;
                    }
                    catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                    {
                        refused++;
                    }
                    catch (UnansweredException)
                    {
                        unanswered++;
                    }
                    catch (Exception e) when (e is SocketException or Xunit.Sdk.XunitException)
                    {
                        otherErrors.Add(e.Message);
                    }
                }
            });
            clients.Start();
            WaitUntilServedBy(firstPid);
            manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string secondPid = manager.Property(unit, "MainPID");
            Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));
            WaitUntilServedBy(secondPid);
            manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string thirdPid = manager.Property(unit, "MainPID");
            WaitUntilServedBy(thirdPid);
            Thread.Sleep(300); // and goes on serving a little
            stop.Cancel();
            clients.Join();

            Assert.NotEqual(firstPid, secondPid);
            Assert.NotEqual(secondPid, thirdPid);
            Assert.Equal(0, refused);
            Assert.Empty(otherErrors);
            // Kestrel's own race, not the socket's: a connection it accepted an instant before it
            // stopped, whose request had not arrived yet, is closed as idle without an answer (HTTP
            // allows that; clients and proxies retry). At most one per stop; the test saw 1 in 5 runs.
            Assert.InRange(unanswered, 0, 2);
            Assert.Contains($"hello from {firstPid}\n", servedBy.Keys);
            Assert.Contains($"hello from {secondPid}\n", servedBy.Keys);
            Assert.Contains($"hello from {thirdPid}\n", servedBy.Keys);
            Assert.True(served > 10, $"served {served}");
            Assert.Contains("LISTEN_FDNAMES=web\n", Environ(thirdPid), StringComparison.Ordinal);
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

    [RealManagerFact]
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

    [RealManagerFact]
    public void Started_by_its_socket_unit_it_serves_the_passed_socket_and_children_inherit_neither_it_nor_LISTEN_or_NOTIFY_SOCKET()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("websock");
        try
        {
            // L-*: the manager listens; the first connection starts the service, which finds the socket as "web".
            manager.SystemdRun(["--unit", unit, "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                "-p", "Type=notify", "-p", "NotifyAccess=main", .. WebApp(port + 1)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".socket", "ActiveState", "active", Patience));
            Assert.Equal("inactive", manager.Property(unit + ".service", "ActiveState"));

            string body = Get(port);
            string pid = manager.Property(unit + ".service", "MainPID");
            Assert.Equal($"hello from {pid}\n", body);
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", Patience));
            Assert.Equal("serving", manager.Property(unit + ".service", "StatusText"));
            Assert.Contains("LISTEN_FDNAMES=web\n", Environ(pid), StringComparison.Ordinal);
            // It served the passed socket, not one of its own on --port.
            Assert.Throws<SocketException>(() => Get(port + 1));

            // A child the app starts: its descriptors are its three pipes and ls's own directory,
            // and its environment has none of the manager's variables.
            string child = Get(port, "/child");
            // ls -l lines end in "FD -> TARGET"; pipes are "pipe:[inode]".
            string[] fds = child.Split('\n').Where(l => l.Contains(" -> ", StringComparison.Ordinal)).Select(l =>
            {
                string[] sides = l.Split(" -> ");
                string target = System.Text.RegularExpressions.Regex.Replace(sides[1], @"^pipe:\[\d+\]$|^/proc/\d+/fd$", m => m.Value.StartsWith('p') ? "pipe" : "/proc/PID/fd");
                return sides[0][(sides[0].LastIndexOf(' ') + 1)..] + " " + target;
            }).ToArray();
            Assert.Equal(["0 pipe", "1 pipe", "2 pipe", "3 /proc/PID/fd"], fds);
            Assert.DoesNotContain("socket:", child, StringComparison.Ordinal);
            Assert.Contains("INVOCATION_ID=", child, StringComparison.Ordinal); // the environment was listed
            Assert.DoesNotContain("LISTEN_", child, StringComparison.Ordinal);
            Assert.DoesNotContain("NOTIFY_SOCKET", child, StringComparison.Ordinal);

            // Stopped, the socket unit still listens: the next connection starts a new instance.
            manager.Systemctl("stop", unit + ".service").EnsureSuccess("systemctl stop");
            Assert.Equal("active", manager.Property(unit + ".socket", "ActiveState"));
            string again = Get(port);
            string secondPid = manager.Property(unit + ".service", "MainPID");
            Assert.NotEqual(pid, secondPid);
            Assert.Equal($"hello from {secondPid}\n", again);
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }

    [RealManagerFact]
    public void With_stderr_the_journal_the_host_logs_natively_through_SdDaemon_Logging_and_the_console_provider_is_gone()
    {
        EnsureJournal();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("weblog");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "StandardOutput=journal", "-p", "StandardError=journal",
                .. WebApp(port)]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string pid = manager.Property(unit, "MainPID");
            Assert.Equal($"hello from {pid}\n", Get(port));
            // SIGHUP: the host reloads (RELOADING=1 ... READY=1) and logs that it did.
            manager.Systemctl("kill", "--kill-who=main", "--signal=SIGHUP", unit).EnsureSuccess("systemctl kill");

            var entries = JournaldInNamespace.Matching(manager, e => e.Any(x => x["MESSAGE"] == "Configuration reloaded"), "_PID=" + pid);
            Dictionary<string, string> serving = Assert.Single(entries, e => e["MESSAGE"].StartsWith("WebApp ", StringComparison.Ordinal));
            Assert.Equal($"WebApp {pid} serving on http://127.0.0.1:{port}", serving["MESSAGE"]);
            Assert.Equal("journal", serving["_TRANSPORT"]);
            Assert.Equal("6", serving["PRIORITY"]);
            Assert.Equal("WebApp", serving["SYSLOG_IDENTIFIER"]);
            Assert.Equal(pid, serving["PID"]);
            Assert.Equal($"http://127.0.0.1:{port}", serving["LISTENER"]);
            Assert.Equal("WebApp {Pid} serving on {Listener}", serving["MESSAGE_TEMPLATE"]);

            Dictionary<string, string> reloaded = Assert.Single(entries, e => e["MESSAGE"] == "Configuration reloaded");
            Assert.Equal("journal", reloaded["_TRANSPORT"]);
            // The reload path (SIGHUP and Varlink's io.systemd.service.Reload) lives in ServiceReloader.
            Assert.Equal("SdDaemon.Hosting.ServiceReloader", reloaded["LOGGER_CATEGORY"]);

            // Everything this process logged went natively: not a line on stdout or stderr.
            Assert.All(entries, e => Assert.Equal("journal", e["_TRANSPORT"]));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void Stop_is_a_lame_duck_that_still_serves_then_it_refuses_new_connections_while_in_flight_work_finishes_then_exit_0()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("webstop");
        try
        {
            string exitFile = Path.Combine(manager.CreateSharedDirectory("sdd-webstop-"), "exit");
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify",
                "-p", $"ExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS >> {exitFile}'",
                .. WebApp(port), "--drain", "4"]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string pid = manager.Property(unit, "MainPID");

            // The drain (4 s) must outlast two systemctl round trips and a request below: with 1.5 s, a
            // loaded machine could find the listener closed already.
            Task<string> inFlight = Task.Run(() => Get(port, "/slow?ms=9000"));
            Thread.Sleep(300);
            var sinceStop = Stopwatch.StartNew();
            manager.Systemctl("stop", "--no-block", unit).EnsureSuccess("systemctl stop");

            // The lame duck: STOPPING=1 with STATUS=draining at once, and it still serves.
            Assert.Equal("draining", manager.WaitForProperty(unit, "StatusText", "draining", Patience));
            Assert.Equal("deactivating", manager.Property(unit, "ActiveState"));
            Assert.Equal($"hello from {pid}\n", Get(port));

            // After the delay it stops accepting (the listener is closed: refused) while the
            // request begun before the stop is still being served.
            while (CanConnect(port))
            {
                Assert.True(sinceStop.Elapsed < Patience, "still accepting connections");
                Thread.Sleep(50);
            }

            Assert.True(sinceStop.Elapsed >= TimeSpan.FromSeconds(4), $"stopped accepting after {sinceStop.Elapsed}");
            Assert.False(inFlight.IsCompleted, "the in-flight request ended before the listener closed");
            Assert.Equal("deactivating", manager.Property(unit, "ActiveState"));

            Assert.Equal("done after 9000 ms\n", inFlight.Result);
            Assert.Equal("inactive", manager.WaitForProperty(unit, "ActiveState", "inactive", Patience));
            Assert.Equal(["success exited 0"], File.ReadAllLines(exitFile));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void In_flight_work_longer_than_the_shutdown_timeout_is_cut_off_and_the_process_still_exits_0_in_time()
    {
        manager.EnsureRunning();
        int port = FreePort();
        string unit = TestDaemon.UniqueUnit("webcut");
        try
        {
            string exitFile = Path.Combine(manager.CreateSharedDirectory("sdd-webcut-"), "exit");
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "TimeoutStopSec=20",
                "-p", $"ExecStopPost=/bin/sh -c 'echo $SERVICE_RESULT $EXIT_CODE $EXIT_STATUS >> {exitFile}'",
                .. WebApp(port), "--shutdown-timeout", "1"]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));

            Task<string> inFlight = Task.Run(() => Get(port, "/slow?ms=60000"));
            Thread.Sleep(300);
            var sinceStop = Stopwatch.StartNew();
            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            TimeSpan stopped = sinceStop.Elapsed;

            // The bound holds: the stop took about the shutdown timeout, not the request's minute
            // (nor TimeoutStopSec's 20 s, after which the manager would have killed it).
            Assert.True(stopped < TimeSpan.FromSeconds(10), $"stop took {stopped}");
            // The connection was aborted (a reset, or closed with no response at all).
            Exception cut = Assert.Throws<AggregateException>(() => inFlight.Result).InnerException!;
            Assert.True(cut is SocketException or UnansweredException, cut.ToString());
            Assert.Equal(["success exited 0"], File.ReadAllLines(exitFile));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    private static bool CanConnect(int port)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return false;
        }
    }

    internal static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    /// <summary>A minimal HTTP/1.0 GET on a new connection; the body. 30 s for an answer: the first
    /// request to a socket unit waits for .NET to start, which took over 10 s with four managers'
    /// tests side by side on a loaded 2-core machine.</summary>
    internal static string Get(int port, string path = "/")
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 30_000, SendTimeout = 30_000 };
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
        if (text.Length == 0)
        {
            throw new UnansweredException();
        }

        int body = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(body > 0 && text.StartsWith("HTTP/1.", StringComparison.Ordinal), text);
        return text[(body + 4)..];
    }
}

/// <summary>The server closed the connection without a byte of response.</summary>
internal sealed class UnansweredException : Exception
{
}

[Collection(SystemdCollection.Name)]
public sealed class WebAppLifecycleTestsUserManager(SystemdUserManager manager, JournaldInNamespace journald) : WebAppLifecycleTests(manager)
{
    protected override void EnsureJournal() => journald.EnsureStarted(manager);
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class WebAppLifecycleTests252(Systemd252Pid1 manager) : WebAppLifecycleTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class WebAppLifecycleTests257(Systemd257Pid1 manager) : WebAppLifecycleTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class WebAppLifecycleTests262(Systemd262Pid1 manager) : WebAppLifecycleTests(manager);
