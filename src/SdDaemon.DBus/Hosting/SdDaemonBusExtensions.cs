using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SdDaemon.DBus.Hosting;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The bus side of a systemd service in the generic host (see docs/dbus.md). Lives in
/// SdDaemon.DBus rather than SdDaemon.Hosting so that a host without a bus carries no
/// Tmds.DBus.Protocol; combine it with <c>AddSdDaemon</c>/<c>UseSdDaemon</c> for READY=1, STOPPING=1 and the rest.
/// </summary>
public static class SdDaemonBusExtensions
{
    /// <summary>
    /// Connects to the bus when the host starts, exports <see cref="SdDaemonBusOptions.Export"/>ed
    /// objects and takes <see cref="SdDaemonBusOptions.BusName"/> once every other hosted service has
    /// started (for Type=dbus that is the readiness signal; under Type=notify it precedes READY=1),
    /// releases it when the host stops, and stops the host when the name is lost. A bus that cannot be
    /// reached or a name that cannot be taken fails the start with <see cref="SdDaemon.DBus.BusUnavailableException"/>
    /// or <see cref="SdDaemon.DBus.BusNameException"/>. Registers <see cref="ISdDaemonBus"/>.
    /// See <see href="https://www.freedesktop.org/software/systemd/man/systemd.service.html#Type=">systemd.service(5), Type=dbus</see>.
    /// </summary>
    public static IServiceCollection AddSdDaemonBus(this IServiceCollection services, Action<SdDaemonBusOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<SdDaemonBusOptions>().Configure(configure);
        if (!OperatingSystem.IsLinux())
        {
            return services;
        }

        services.TryAddSingleton<SdDaemonBusService>();
        services.TryAddSingleton<ISdDaemonBus>(sp => sp.GetRequiredService<SdDaemonBusService>());
        services.AddHostedService(sp => sp.GetRequiredService<SdDaemonBusService>());
        return services;
    }

    /// <summary>
    /// Holds a logind delay inhibitor lock on the system bus while the host runs: before shutdown or
    /// sleep every registered <see cref="IPrepareForShutdownHandler"/> / <see cref="IPrepareForSleepHandler"/>
    /// runs (bounded by InhibitDelayMaxSec=), then the lock is released so that logind proceeds at once;
    /// it is taken again after resume. Without a system bus or logind the host runs without a lock (a
    /// warning is logged). See <see href="https://systemd.io/INHIBITOR_LOCKS/">Inhibitor Locks</see>.
    /// </summary>
    public static IServiceCollection AddSdDaemonInhibitor(this IServiceCollection services, Action<SdDaemonInhibitorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<SdDaemonInhibitorOptions> options = services.AddOptions<SdDaemonInhibitorOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (OperatingSystem.IsLinux())
        {
            services.AddHostedService<SdDaemonInhibitorService>();
        }

        return services;
    }
}
