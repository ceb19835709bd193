using System.Runtime.Versioning;

namespace SdDaemon.Hosting;

/// <summary>
/// The host's notify channel, injectable: STATUS= updates and other notifications from the
/// application (<see href="https://www.freedesktop.org/software/systemd/man/sd_notify.html">sd_notify(3)</see>).
/// Every member is harmless when no manager listens.
/// </summary>
/// <remarks>
/// The host sends everything through this service, so a replacement registered before or after
/// <c>AddSdDaemon()</c> (a decorator that also logs, a test double) sees every message: READY=1,
/// STATUS=, STOPPING=1 and EXTEND_TIMEOUT_USEC= from the lifetime, RELOADING=1 from a reload,
/// WATCHDOG=1 from the watchdog keep-alive, FDSTORE=1 from <see cref="ISdDaemonSockets.GetOrBind"/>.
/// <see cref="Notify"/> is called from the keep-alive's own thread every half WatchdogSec=: it must be
/// thread-safe and should not wait long (a result with errno 11, EAGAIN, is tried again shortly;
/// the built-in one waits at most <see cref="NotifyChannel.SendTimeout"/> for room in the manager's
/// queue). The keep-alive and the timeout extensions run only while <see cref="IsUnderManager"/> is true.
/// </remarks>
public interface ISdDaemonNotifier
{
    /// <summary>True when NOTIFY_SOCKET was set when the host started.</summary>
    bool IsUnderManager { get; }

    /// <summary>Sends a notification; see <see cref="Notification.Send(bool)"/> for the result contract.</summary>
    [SupportedOSPlatform("linux")]
    NotifyResult Notify(Notification notification);

    /// <summary>STATUS=<paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">See <see cref="NotifyState.Status"/>.</exception>
    [SupportedOSPlatform("linux")]
    NotifyResult SetStatus(string text);

    /// <summary>EXTEND_TIMEOUT_USEC: the current start, stop or reload timeout ends <paramref name="extension"/> from now.</summary>
    [SupportedOSPlatform("linux")]
    NotifyResult ExtendTimeout(TimeSpan extension);
}
