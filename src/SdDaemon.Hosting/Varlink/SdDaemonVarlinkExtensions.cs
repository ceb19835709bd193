using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Hosting;
using SdDaemon.Hosting.Varlink;
using SdDaemon.Varlink;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Serves systemd's <c>io.systemd.service</c> Varlink interface from the host, so that
/// <see href="https://www.freedesktop.org/software/systemd/man/varlinkctl.html">varlinkctl(1)</see> can ping
/// the service, reload it, change its log level live and read its environment; and the application's
/// own interfaces on the same socket.
/// </summary>
public static class SdDaemonVarlinkExtensions
{
    /// <summary>
    /// Adds the Varlink server (Linux only; elsewhere nothing is added): it listens on the socket a
    /// socket unit passes with <c>FileDescriptorName=varlink</c>, or binds one in
    /// <c>$RUNTIME_DIRECTORY</c> (<see cref="SdDaemonVarlinkOptions.SocketPath"/>) and links it in the
    /// Varlink registry. Serves io.systemd.service (Ping, Reload as SIGHUP does, SetLogLevel/GetLogLevel
    /// on every logger, GetEnvironment), org.varlink.service, and every <see cref="VarlinkInterface"/>
    /// registered in the services (<c>services.AddSingleton(new VarlinkInterface(...))</c>). Calls
    /// <see cref="SdDaemonHostExtensions.AddSdDaemon"/>'s registrations it needs when they are missing.
    /// </summary>
    public static IServiceCollection AddSdDaemonVarlink(this IServiceCollection services, Action<SdDaemonVarlinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<SdDaemonVarlinkOptions> options = services.AddOptions<SdDaemonVarlinkOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        if (!OperatingSystem.IsLinux())
        {
            return services;
        }

        if (!services.Any(d => d.ServiceType == typeof(ServiceReloader)))
        {
            services.AddSdDaemon();
        }

        services.TryAddSingleton<LogLevelOverride>();
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>>(sp => sp.GetRequiredService<LogLevelOverride>());
        services.AddSingleton<IOptionsChangeTokenSource<LoggerFilterOptions>>(sp => sp.GetRequiredService<LogLevelOverride>());
        // First among the hosted services: a reload or a log level change works while the others start.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, VarlinkHostedService>());
        return services;
    }
}
