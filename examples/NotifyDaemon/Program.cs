// A new-style daemon (daemon(7)): tells the manager when it is ready, keeps a status line up to
// date, says STOPPING=1 on SIGTERM and exits with an LSB exit code. Run it under systemd with
// notify-daemon.service, or through examples/Demo, which plays the manager.
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SdDaemon;

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("<3>this daemon runs on Linux");
    return (int)LsbExitCode.Failure;
}

using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true; // shut down our way, below
    stop.Cancel();
});

UnhandledExceptionExit.Install(); // a crash: "<2>..." lines and exit 70 (EX_SOFTWARE)
Notification.Status("loading configuration").Send();
Thread.Sleep(200); // stands in for real start-up work

// Socket activation: serve on the socket named "web" if the manager passed one.
using ListenFdsResult passed = ListenFds.Get(unsetEnvironment: true);
if (passed.IsFailed)
{
    Console.Error.WriteLine($"<3>socket activation: {passed.ErrorMessage}");
    return (int)SysExitCode.Config;
}

if (passed.First("web") is { } web)
{
    Socket listener = web.ToSocket();
    var accepting = new Thread(() =>
    {
        while (true)
        {
            using Socket client = listener.Accept();
            client.Send(Encoding.UTF8.GetBytes($"hello from pid {Environment.ProcessId} on fd {web.Fd} ({web.Name})\n"));
        }
    }) { IsBackground = true };
    accepting.Start();
}

// The watchdog: pings on a thread of its own at half of WATCHDOG_USEC, if the manager asked.
using WatchdogKeepAlive? keepAlive = Watchdog.StartKeepAliveIfEnabled(unsetEnvironment: true);

// READY=1 and the first status in one datagram: the manager sees them together.
NotifyResult ready = new Notification(NotifyState.Ready, NotifyState.Status("serving: 0 requests")).Send();
Console.Error.WriteLine($"<6>socket activation: {passed}; watchdog: {(keepAlive is null ? "off" : $"pinging every {keepAlive.Interval.TotalMilliseconds} ms")}");
Console.Error.WriteLine($"<6>ready ({ready})");

int served = 0;
while (!stop.IsCancellationRequested)
{
    stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(300));
    served += 7;
    Notification.Status($"serving: {served} requests").Send();
}

Notification.Stopping.Send();
Notification.Status("shutting down").Send();
Console.Error.WriteLine("<5>stopped cleanly");
return (int)LsbExitCode.Success;
