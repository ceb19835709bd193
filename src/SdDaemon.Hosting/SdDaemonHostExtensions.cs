using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SdDaemon.Hosting;

namespace Microsoft.Extensions.Hosting;

/// <summary>Makes a generic host a systemd service (see <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>).</summary>
public static class SdDaemonHostExtensions
{
    /// <summary>
    /// Under a service manager (NOTIFY_SOCKET set), replaces the console lifetime with one that
    /// notifies READY=1, STOPPING=1 and STATUS=, extends slow start and stop timeouts, reloads on
    /// SIGHUP (Type=notify-reload) and stops on SIGTERM. Registers <see cref="ISystemdNotifier"/>
    /// in any case; outside a manager nothing else changes.
    /// </summary>
    public static IHostBuilder UseSdDaemon(this IHostBuilder builder, Action<SdDaemonHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services => services.AddSdDaemon(configure));
    }

    /// <summary>The same as <see cref="UseSdDaemon"/>, for <c>HostApplicationBuilder</c> and <c>WebApplicationBuilder</c> services.</summary>
    public static IServiceCollection AddSdDaemon(this IServiceCollection services, Action<SdDaemonHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<SdDaemonHostOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        bool underManager = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(SdDaemon.EnvironmentVariables.NotifySocket) is not null;
        services.TryAddSingleton<ISystemdNotifier>(sp =>
            new SystemdNotifier(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<SdDaemonHostOptions>>().Value.HideNotifySocketFromChildren));
        if (underManager && OperatingSystem.IsLinux())
        {
            services.AddSingleton<IHostLifetime, SdDaemonLifetime>();
        }

        return services;
    }
}
