using System.Runtime.Versioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SdDaemon.Hosting;

/// <summary>
/// The one reload path (SIGHUP, <c>systemctl reload</c>, Varlink's io.systemd.service.Reload):
/// RELOADING=1 + MONOTONIC_USEC, configuration and every <see cref="IReloadHandler"/>, READY=1
/// (Type=notify-reload). One reload at a time; a second waits for the first.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ServiceReloader : IDisposable
{
    private readonly ISdDaemonNotifier _notifier;
    private readonly IServiceProvider _services;
    private readonly SdDaemonHostOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public ServiceReloader(ISdDaemonNotifier notifier, IServiceProvider services, IOptions<SdDaemonHostOptions> options, ILogger<ServiceReloader> logger)
    {
        _notifier = notifier;
        _services = services;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>Reloads; returns the failure's message, or null when every step succeeded.</summary>
    public async Task<string?> ReloadAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _notifier.Notify(Notification.Reloading());
            string? failure = null;
            try
            {
                (_services.GetService<IConfiguration>() as IConfigurationRoot)?.Reload();
                foreach (IReloadHandler handler in _services.GetServices<IReloadHandler>())
                {
                    await handler.ReloadAsync(cancellationToken).ConfigureAwait(false);
                }

                LogReloaded(_logger);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReloadFailed(_logger, e);
                failure = e.Message;
            }

            // The manager waits for READY=1 after RELOADING=1 whatever happened.
            _notifier.Notify(new Notification(
                NotifyState.Ready,
                failure is null
                    ? NotifyState.Status(_options.ReadyStatus ?? "reloaded")
                    : NotifyState.StatusFrom("reload failed: " + failure))); // never throws, whatever the message
            return failure;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(Level = LogLevel.Information, Message = "Configuration reloaded")]
    private static partial void LogReloaded(ILogger logger);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reload failed")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
