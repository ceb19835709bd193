using System.Runtime.Versioning;
using Microsoft.Extensions.Configuration;

namespace SdDaemon.Hosting;

/// <summary>
/// Reads <see cref="SystemdCredentialsConfigurationSource"/>'s credentials on Load and on every
/// reload. A load that fails (spec C-2..C-4) throws a <see cref="CredentialException"/> naming the
/// file and keeps the values of the last good load (a failed reload loses nothing).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class SystemdCredentialsConfigurationProvider : ConfigurationProvider
{
    private readonly SystemdCredentialsConfigurationSource _source;

    /// <summary>Creates the provider for <paramref name="source"/>.</summary>
    public SystemdCredentialsConfigurationProvider(SystemdCredentialsConfigurationSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
    }

    /// <summary>Reads every credential the source selects (spec C-4, C-5).</summary>
    /// <exception cref="CredentialException">The directory is malformed, or a credential cannot be read or named as a key.</exception>
    public override void Load()
    {
        CredentialDirectory? directory = _source.Directory is { } path
            ? new CredentialDirectory(path, _source.MaxSize)
            : CredentialDirectory.FromEnvironment(_source.MaxSize);
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (directory is not null)
        {
            foreach (string name in directory.GetNames())
            {
                if (CredentialKey.FromName(name, _source.Prefix, _source.SectionDelimiter) is not { } key
                    || !directory.TryReadText(name, out string value))
                {
                    continue; // another prefix, or removed since it was listed
                }

                data[key] = _source.TrimTrailingNewline ? TrimOneNewline(value) : value;
            }
        }

        Data = data; // only after every credential was read: a failure keeps the previous values
        OnReload();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{nameof(SystemdCredentialsConfigurationProvider)} ({_source.Directory ?? "$" + EnvironmentVariables.CredentialsDirectory})";

    private static string TrimOneNewline(string value) =>
        value.EndsWith("\r\n", StringComparison.Ordinal) ? value[..^2]
        : value.EndsWith('\n') ? value[..^1]
        : value;
}
