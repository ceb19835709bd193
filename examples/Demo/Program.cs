// The demo: with no service manager around, play one with SdDaemon.Testing. Start the example
// daemon socket-activated (a listening socket named "web" as fd 3) with NOTIFY_SOCKET pointing at
// our receiver and a 1 s watchdog, print each notification with the sender's pid (from
// SCM_CREDENTIALS), connect to the passed socket once, stop it with SIGTERM, report its exit code.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SdDaemon.Testing;

if (!OperatingSystem.IsLinux())
{
    Console.WriteLine("The demo needs Linux.");
    return 1;
}

using NotifyReceiver receiver = NotifyReceiver.Bind();
string daemonDll = Path.Combine(AppContext.BaseDirectory, "NotifyDaemon.dll");
string dotnet = Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "/usr/bin/dotnet";
using var web = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
web.Bind(new IPEndPoint(IPAddress.Loopback, 0));
web.Listen(16);

Console.WriteLine($"manager: listening on NOTIFY_SOCKET={receiver.NotifySocket}, passing {web.LocalEndPoint} as fd 3 'web', WATCHDOG_USEC=1000000");
using ActivatedProcess daemon = ActivationLauncher.Start(dotnet, [daemonDll], [new PassedFile(web.SafeHandle, "web")],
    new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = receiver.NotifySocket, ["WATCHDOG_USEC"] = "1000000" });
Console.WriteLine($"manager: started daemon, pid {daemon.Pid}");
int pings = 0;

bool ready = false;
int statuses = 0;
var clock = Stopwatch.StartNew();
while (clock.Elapsed < TimeSpan.FromSeconds(30))
{
    using NotifyMessage? message = receiver.Receive(TimeSpan.FromSeconds(5));
    if (message is null)
    {
        Console.WriteLine("manager: no notification for 5 s, giving up");
        break;
    }

    if (message.Contains("WATCHDOG=1") && ++pings > 2)
    {
        continue; // the keep-alive pings every 500 ms: show the first two
    }

    Console.WriteLine($"manager: from pid {message.Pid} (uid {message.Uid}): {string.Join(" | ", message.Lines)}");
    if (!ready && message.Contains("READY=1"))
    {
        ready = true;
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 5000 };
        client.Connect(web.LocalEndPoint!);
        var buffer = new byte[256];
        Console.WriteLine($"manager: connected to the passed socket: {Encoding.UTF8.GetString(buffer, 0, client.Receive(buffer)).TrimEnd()}");
    }

    if (ready && message.Get("STATUS") is not null && ++statuses == 4)
    {
        Console.WriteLine($"manager: stopping pid {daemon.Pid} with SIGTERM ({pings} watchdog pings so far)");
        daemon.Signal(15);
    }

    if (message.Get("STATUS") == "shutting down")
    {
        break;
    }
}

daemon.WaitForExit(TimeSpan.FromSeconds(10));
Console.WriteLine($"manager: daemon exited with code {daemon.ExitCode} ({(daemon.ExitCode == 0 ? "LSB success" : "failure")})");
return ready && pings > 0 && daemon.ExitCode == 0 ? 0 : 1;
