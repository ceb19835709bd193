// A new-style daemon (daemon(7)): tells the manager when it is ready, keeps a status line up to
// date, says STOPPING=1 on SIGTERM and exits with an LSB exit code. Run it under systemd with
// notify-daemon.service, or through examples/Demo, which plays the manager.
using System.Runtime.InteropServices;
using SdDaemon;

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("<3>this daemon runs on Linux");
    return 1; // LSB: generic failure
}

using var stop = new CancellationTokenSource();
using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true; // shut down our way, below
    stop.Cancel();
});

Notification.Status("loading configuration").Send();
Thread.Sleep(200); // stands in for real start-up work

// READY=1 and the first status in one datagram: the manager sees them together.
NotifyResult ready = new Notification(NotifyState.Ready, NotifyState.Status("serving: 0 requests")).Send();
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
return 0; // LSB: success
