
namespace SdDaemon.Hosting;

/// <summary>
/// Captures NOTIFY_SOCKET once, at start-up, into a fixed channel; optionally removes it from the
/// environment so that children the application starts do not inherit it (a child that notifies
/// READY=1 or MAINPID= would be taken for the service itself).
/// </summary>
internal sealed class SdDaemonNotifier : ISdDaemonNotifier, IDisposable
{
    private readonly NotifyChannel? _channel;

    public SdDaemonNotifier(bool hideFromChildren)
        : this(Environment.GetEnvironmentVariable(EnvironmentVariables.NotifySocket), hideFromChildren)
    {
    }

    internal SdDaemonNotifier(string? address, bool hideFromChildren)
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

    /// <summary>The channel to the address captured at start-up, for the watchdog keep-alive.</summary>
    internal NotifyChannel? Channel => _channel;

    public NotifyResult Notify(Notification notification) =>
        _channel?.Send(notification) ?? NotifyResult.NotListening;

    public NotifyResult SetStatus(string text) => Notify(Notification.Status(text));

    public NotifyResult ExtendTimeout(TimeSpan extension) => Notify(new Notification(NotifyState.ExtendTimeout(extension)));

    public void Dispose() => _channel?.Dispose();
}
