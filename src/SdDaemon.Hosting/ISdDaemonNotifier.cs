
namespace SdDaemon.Hosting;

/// <summary>
/// The host's notify channel, injectable: STATUS= updates and other notifications from the
/// application (<see href="https://www.freedesktop.org/software/systemd/man/sd_notify.html">sd_notify(3)</see>).
/// Every member is harmless when no manager listens.
/// </summary>
public interface ISdDaemonNotifier
{
    /// <summary>True when NOTIFY_SOCKET was set when the host started.</summary>
    bool IsUnderManager { get; }

    /// <summary>Sends a notification; see <see cref="Notification.Send(bool)"/> for the result contract.</summary>
    NotifyResult Notify(Notification notification);

    /// <summary>STATUS=<paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">See <see cref="NotifyState.Status"/>.</exception>
    NotifyResult SetStatus(string text);

    /// <summary>EXTEND_TIMEOUT_USEC: the current start, stop or reload timeout ends <paramref name="extension"/> from now.</summary>
    NotifyResult ExtendTimeout(TimeSpan extension);
}
