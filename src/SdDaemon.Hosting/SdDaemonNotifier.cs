using System.Runtime.Versioning;

namespace SdDaemon.Hosting;

/// <summary>
/// The host's <see cref="ISdDaemonNotifier"/>: a fixed channel to the NOTIFY_SOCKET that
/// <see cref="Microsoft.Extensions.Hosting.SdDaemonHostExtensions.AddSdDaemon"/> read (the one place
/// the host reads it); optionally removes the variable from the environment so that children the
/// application starts do not inherit it (a child that notifies READY=1 or MAINPID= would be taken
/// for the service itself).
/// </summary>
internal sealed class SdDaemonNotifier : ISdDaemonNotifier, IDisposable
{
    private readonly NotifyChannel? _channel;

    /// <param name="address">NOTIFY_SOCKET as read when the host was configured; null outside a manager.</param>
    /// <param name="hideFromChildren">Remove NOTIFY_SOCKET from the environment now.</param>
    public SdDaemonNotifier(string? address, bool hideFromChildren)
    {
        if (address is not null && OperatingSystem.IsLinux())
        {
            _channel = NotifyChannel.Create(address);
            if (hideFromChildren)
            {
                Environment.SetEnvironmentVariable(EnvironmentVariables.NotifySocket, null);
            }
        }
    }

    public bool IsUnderManager => _channel is not null;

    [SupportedOSPlatform("linux")]
    public NotifyResult Notify(Notification notification) =>
        _channel?.Send(notification) ?? NotifyResult.NotListening;

    [SupportedOSPlatform("linux")]
    public NotifyResult SetStatus(string text) => Notify(Notification.Status(text));

    [SupportedOSPlatform("linux")]
    public NotifyResult ExtendTimeout(TimeSpan extension) => Notify(new Notification(NotifyState.ExtendTimeout(extension)));

    public void Dispose() => _channel?.Dispose();
}
