using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Hosting;
using SdDaemon.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>Makes a generic host a systemd service (see <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>).</summary>
public static class SdDaemonHostExtensions
{
    /// <summary>
    /// Under a service manager (NOTIFY_SOCKET set), replaces the console lifetime with one that
    /// notifies READY=1, STOPPING=1 and STATUS=, extends slow start and stop timeouts, reloads on
    /// SIGHUP (Type=notify-reload) and stops on SIGTERM; runs the watchdog keep-alive driven by the
    /// health checks when the unit has WatchdogSec=; logs through SdDaemon.Logging instead of the
    /// console provider (native journal entries when stderr is the journal, <c>&lt;N&gt;</c>-prefixed
    /// stderr lines otherwise, see <see cref="SdDaemonHostOptions.UseJournalLogging"/>);
    /// sheds memory on the unit's memory pressure (MemoryPressureWatch=).
    /// Registers <see cref="ISdDaemonNotifier"/>, <see cref="ISdDaemonSockets"/> and
    /// <see cref="SdDaemon.ServiceDirectories"/> in any case; outside a manager nothing else changes.
    /// When the host starts, passed descriptors (socket activation, the fd store) are taken whether
    /// or not the application resolves <see cref="ISdDaemonSockets"/>: LISTEN_* leave the environment
    /// and the descriptors become FD_CLOEXEC, so child processes inherit neither.
    /// </summary>
    public static IHostBuilder UseSdDaemon(this IHostBuilder builder, Action<SdDaemonHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.ConfigureServices(services => services.AddSdDaemon(configure));
    }

    /// <summary>The same as <see cref="UseSdDaemon"/>, for <c>HostApplicationBuilder</c> and <c>WebApplicationBuilder</c> services.</summary>
    /// <remarks>
    /// <paramref name="configure"/> runs once, during this call: what is registered depends on its
    /// options, and the host's <c>IOptions&lt;SdDaemonHostOptions&gt;</c> gets the values it set
    /// (<c>services.Configure&lt;SdDaemonHostOptions&gt;</c> registered later still applies on top).
    /// NOTIFY_SOCKET is read once, here as well.
    /// With Microsoft.Extensions.Hosting.Systemd's <c>UseSystemd()</c>/<c>AddSystemd()</c> in the same
    /// host (a migration half done): called before this method, its lifetime is replaced by this one;
    /// called after, it would replace this lifetime, and the host fails to start with an
    /// <see cref="InvalidOperationException"/> that says to remove it.
    /// </remarks>
    public static IServiceCollection AddSdDaemon(this IServiceCollection services, Action<SdDaemonHostOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var chosen = new SdDaemonHostOptions();
        configure?.Invoke(chosen);
        OptionsBuilder<SdDaemonHostOptions> options = services.AddOptions<SdDaemonHostOptions>();
        if (configure is not null)
        {
            options.Configure(chosen.CopyTo);
        }

        string? notifySocket = OperatingSystem.IsLinux() ? Environment.GetEnvironmentVariable(SdDaemon.EnvironmentVariables.NotifySocket) : null;
        services.TryAddSingleton(sp => new SdDaemonNotifier(notifySocket, sp.GetRequiredService<IOptions<SdDaemonHostOptions>>().Value.HideNotifySocketFromChildren));
        services.TryAddSingleton<ISdDaemonNotifier>(sp => sp.GetRequiredService<SdDaemonNotifier>());
        services.TryAddSingleton<PassedDescriptors>();
        services.TryAddSingleton<ISdDaemonSockets, SdDaemonSockets>();
        services.TryAddSingleton(_ => SdDaemon.ServiceDirectories.FromEnvironment());

        // First of all hosted services, so that the passed descriptors are CLOEXEC and LISTEN_* gone
        // before any of the application's hosted services is constructed or started, even when
        // nothing resolves ISdDaemonSockets (a child would otherwise inherit both).
        InsertFirstOnce<PassedDescriptorsCapture>(services);

        if (!OperatingSystem.IsLinux())
        {
            return services;
        }

        services.TryAddSingleton<ServiceReloader>();

        if (notifySocket is not null)
        {
            services.AddSingleton<IHostLifetime, SdDaemonLifetime>();
            InsertFirstOnce<LifetimeCheck>(services);
            services.AddHostedService<HealthWatchdogService>();
        }

        if (chosen.WatchMemoryPressure)
        {
            services.AddHostedService<MemoryPressureService>();
        }

        if (chosen.UseJournalLogging && (JournalStreamCheck.IsStandardErrorJournal || JournalStreamCheck.IsUnderServiceManager))
        {
            // The console provider would write unprefixed, two-line records (to stdout, which is
            // often the journal even when stderr is not); the journal provider writes native entries
            // when stderr is the journal and <N> lines on stderr otherwise.
            for (int i = services.Count - 1; i >= 0; i--)
            {
                if (services[i].ServiceType == typeof(ILoggerProvider)
                    && services[i].ImplementationType?.FullName == "Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider")
                {
                    services.RemoveAt(i);
                }
            }

            services.AddLogging(logging => logging.AddJournal());
        }

        return services;
    }

    private static void InsertFirstOnce<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(IServiceCollection services)
        where T : class, IHostedService
    {
        if (!services.Any(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(T)))
        {
            services.Insert(0, ServiceDescriptor.Singleton<IHostedService, T>());
        }
    }

    /// <summary>
    /// Makes the unit's first directory of <paramref name="kind"/> (for example StateDirectory=,
    /// <c>$STATE_DIRECTORY</c>) the host's content root, when the unit has one; otherwise the
    /// content root stays as it was (spec S-2). For <c>HostApplicationBuilder</c> and
    /// <c>WebApplicationBuilder</c>, pass <c>ServiceDirectories.FromEnvironment().GetFirst(kind)</c>
    /// as the settings' <c>ContentRootPath</c> instead.
    /// </summary>
    public static IHostBuilder UseServiceDirectoryAsContentRoot(this IHostBuilder builder, SdDaemon.ServiceDirectoryKind kind)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return SdDaemon.ServiceDirectories.FromEnvironment().GetFirst(kind) is { } path ? builder.UseContentRoot(path) : builder;
    }
}
