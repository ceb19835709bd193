using SdDaemon.Hosting;

namespace Microsoft.Extensions.Configuration;

/// <summary>Adds systemd credentials to configuration (see <see cref="SystemdCredentialsConfigurationSource"/>).</summary>
public static class SystemdCredentialsConfigurationExtensions
{
    /// <summary>
    /// Adds the service's credentials (<c>$CREDENTIALS_DIRECTORY</c>) as configuration: one key per
    /// credential, <c>__</c> in a name becoming <c>:</c>, only names starting with
    /// <paramref name="prefix"/> (removed from the key) when one is given. Empty outside a service
    /// manager; read again on every configuration reload (SIGHUP under SdDaemon.Hosting).
    /// </summary>
    public static IConfigurationBuilder AddSystemdCredentials(this IConfigurationBuilder builder, string? prefix = null) =>
        builder.AddSystemdCredentials(source => source.Prefix = prefix);

    /// <summary>Adds the service's credentials as configuration, with the source's options set by <paramref name="configure"/>.</summary>
    public static IConfigurationBuilder AddSystemdCredentials(this IConfigurationBuilder builder, Action<SystemdCredentialsConfigurationSource> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var source = new SystemdCredentialsConfigurationSource();
        configure(source);
        return builder.Add(source);
    }
}
