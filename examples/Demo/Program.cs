// The demo: with no service manager around, play one with SdDaemon.Testing. Start the example
// daemon as a child with NOTIFY_SOCKET pointing at our receiver, print each notification with
// the sender's pid (from SCM_CREDENTIALS), stop it with SIGTERM, and report its exit code.
using System.Diagnostics;
using SdDaemon.Testing;

if (!OperatingSystem.IsLinux())
{
    Console.WriteLine("The demo needs Linux.");
    return 1;
}

using NotifyReceiver receiver = NotifyReceiver.Bind();
string daemonDll = Path.Combine(AppContext.BaseDirectory, "NotifyDaemon.dll");
var start = new ProcessStartInfo(Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal) ? Environment.ProcessPath : "dotnet")
{
    UseShellExecute = false,
    ArgumentList = { daemonDll },
};
start.Environment["NOTIFY_SOCKET"] = receiver.NotifySocket;

Console.WriteLine($"manager: listening on NOTIFY_SOCKET={receiver.NotifySocket}");
using Process daemon = Process.Start(start)!;
Console.WriteLine($"manager: started daemon, pid {daemon.Id}");

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

    Console.WriteLine($"manager: from pid {message.Pid} (uid {message.Uid}): {string.Join(" | ", message.Lines)}");
    ready |= message.Contains("READY=1");
    if (ready && message.Get("STATUS") is not null && ++statuses == 4)
    {
        Console.WriteLine($"manager: stopping pid {daemon.Id} with SIGTERM");
        Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
    }

    if (message.Get("STATUS") == "shutting down")
    {
        break;
    }
}

daemon.WaitForExit(10_000);
Console.WriteLine($"manager: daemon exited with code {daemon.ExitCode} ({(daemon.ExitCode == 0 ? "LSB success" : "failure")})");
return ready && daemon.ExitCode == 0 ? 0 : 1;
