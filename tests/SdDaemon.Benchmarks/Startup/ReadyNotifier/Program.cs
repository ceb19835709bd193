// A daemon that only tells its manager it is ready, through SdDaemon: the .NET subject of the
// start-up benchmark (../measure_startup.py) and of .ci/aot's check that the notify send path
// loads no ICU. It uses no Console and formats nothing itself, so whatever it loads, SdDaemon did.
// Usage: ReadyNotifier                 READY=1, then exit 0 (1 if it was not sent)
//        ReadyNotifier --hold          READY=1, then sleeps until killed (its peak RSS is read then)
//        ReadyNotifier --every-state   READY=1, then every notify state that SdDaemon formats
//                                      (numbers, STATUS text, MONOTONIC_USEC), the watchdog
//                                      keep-alive if WATCHDOG_USEC is set, and last STATUS=holding;
//                                      then sleeps until killed, so that its memory map can be read.
using SdDaemon;

if (!OperatingSystem.IsLinux())
{
    return 2;
}

NotifyResult ready = Notification.Ready.Send();
if (!ready.IsSent)
{
    return 1;
}

if (args.Length == 0)
{
    return 0;
}

if (args[0] == "--hold")
{
    Thread.Sleep(Timeout.Infinite);
}

Notification.Status("starting: step 1 of 2").Send();
new Notification(NotifyState.ExtendTimeout(TimeSpan.FromSeconds(5)), NotifyState.MainPid(Environment.ProcessId)).Send();
new Notification(NotifyState.WatchdogUsec(TimeSpan.FromSeconds(30)), NotifyState.Errno(5), NotifyState.ExitStatus(3)).Send();
Notification.Reloading().Send();
Notification.FromText("READY=1\nSTATUS=reloaded").Send();
using WatchdogKeepAlive? keepAlive = Watchdog.StartKeepAliveIfEnabled(unsetEnvironment: true);
Notification.Status("holding").Send();
Thread.Sleep(Timeout.Infinite);
return 0;
