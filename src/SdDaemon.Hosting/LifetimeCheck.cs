using Microsoft.Extensions.Hosting;

namespace SdDaemon.Hosting;

/// <summary>
/// Fails the host's start when another <see cref="IHostLifetime"/> was registered after
/// <c>AddSdDaemon()</c> and replaced <see cref="SdDaemonLifetime"/>. The usual one is
/// Microsoft.Extensions.Hosting.Systemd's, left over from a migration: under systemd it would
/// silently send no STATUS= and no EXTEND_TIMEOUT_USEC=, and let SIGHUP end the service.
/// </summary>
internal sealed class LifetimeCheck : IHostedService
{
    /// <summary>The type name of Microsoft.Extensions.Hosting.Systemd's lifetime (not referenced).</summary>
    internal const string MicrosoftSystemdLifetime = "Microsoft.Extensions.Hosting.Systemd.SystemdLifetime";

    private readonly IHostLifetime _lifetime;

    public LifetimeCheck(IHostLifetime lifetime) => _lifetime = lifetime;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_lifetime is not SdDaemonLifetime)
        {
            throw new InvalidOperationException(Explain(_lifetime.GetType()));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static string Explain(Type lifetime) => lifetime.FullName == MicrosoftSystemdLifetime
        ? "UseSystemd()/AddSystemd() of Microsoft.Extensions.Hosting.Systemd was called after AddSdDaemon()/UseSdDaemon() "
            + "and replaced SdDaemon's host lifetime: under systemd there would be no STATUS= and no EXTEND_TIMEOUT_USEC=, "
            + "and SIGHUP would end the service. Remove the UseSystemd()/AddSystemd() call (AddSdDaemon() does what it did) "
            + "and the Microsoft.Extensions.Hosting.Systemd package reference."
        : $"The host's lifetime is {lifetime.FullName}, registered after AddSdDaemon()/UseSdDaemon(), which replaced "
            + "SdDaemon's: under systemd the host would not notify READY=1, STATUS= or EXTEND_TIMEOUT_USEC= nor reload on SIGHUP. "
            + $"Remove the registration of {lifetime.FullName} (services.AddSingleton<IHostLifetime, ...>), or make it before AddSdDaemon().";
}
