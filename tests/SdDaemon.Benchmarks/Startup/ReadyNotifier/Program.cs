// A daemon that only tells its manager it is ready, through SdDaemon: the .NET subject of the
// start-up benchmark (../measure_startup.py) and of .ci/aot's check that the notify send path
// loads no ICU. It uses no Console and formats nothing itself, so whatever it loads, SdDaemon did.
// Usage: ReadyNotifier                 READY=1, then exit 0 (1 if it was not sent)
//        ReadyNotifier --hold          READY=1, then sleeps until killed (its peak RSS is read then)
//        ReadyNotifier --raw --hold    the same without SdDaemon: one socket() and sendto() of its own,
//                                      the .NET runtime's start-up alone (the benchmark's reference row)
//        ReadyNotifier --every-state   READY=1, then every notify state that SdDaemon formats
//                                      (numbers, STATUS text, MONOTONIC_USEC), the watchdog
//                                      keep-alive if WATCHDOG_USEC is set, and last STATUS=holding;
//                                      then sleeps until killed, so that its memory map can be read.
using System.Runtime.InteropServices;
using SdDaemon;

if (!OperatingSystem.IsLinux())
{
    return 2;
}

if (args.Length > 0 && args[0] == "--raw")
{
    if (!RawNotify.Ready())
    {
        return 1;
    }

    Thread.Sleep(Timeout.Infinite);
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
new Notification(NotifyState.Ready, NotifyState.Status("reloaded")).Send();
using WatchdogKeepAlive? keepAlive = Watchdog.StartKeepAliveIfEnabled(unsetEnvironment: true);
Notification.Status("holding").Send();
Thread.Sleep(Timeout.Infinite);
return 0;

/// <summary>READY=1 with nothing but socket(2) and sendto(2) to a filesystem NOTIFY_SOCKET: no
/// validation, no error handling, no cached socket; what is left is the runtime's start-up.</summary>
internal static unsafe partial class RawNotify
{
    public static bool Ready()
    {
        string? path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (path is null || path.Length > 100)
        {
            return false;
        }

        byte* address = stackalloc byte[110]; // struct sockaddr_un
        new Span<byte>(address, 110).Clear();
        address[0] = 1; // AF_UNIX
        int length = System.Text.Encoding.UTF8.GetBytes(path, new Span<byte>(address + 2, 106));
        int fd = Socket(1, 2 | 0x80000, 0); // AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC
        ReadOnlySpan<byte> ready = "READY=1"u8;
        fixed (byte* message = ready)
        {
            return fd >= 0 && SendTo(fd, message, (nuint)ready.Length, 0x4000, address, (uint)(2 + length + 1)) == ready.Length;
        }
    }

    [LibraryImport("libc", EntryPoint = "socket")]
    private static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "sendto")]
    private static partial nint SendTo(int fd, byte* buffer, nuint length, int flags, byte* address, uint addressLength);
}
