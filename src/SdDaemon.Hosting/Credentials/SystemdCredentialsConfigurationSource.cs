using System.Runtime.Versioning;
using Microsoft.Extensions.Configuration;

namespace SdDaemon.Hosting;

/// <summary>
/// Configuration from systemd credentials (<c>$CREDENTIALS_DIRECTORY</c>): each credential file is
/// one key, its UTF-8 content the value (see <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Credentials">systemd.exec(5), "Credentials"</see>).
/// The file name becomes the key as in the key-per-file provider: <see cref="Prefix"/> selects and
/// is removed, then <see cref="SectionDelimiter"/> (<c>__</c>) becomes <c>:</c>; so the credential
/// <c>myapp.Database__Password</c> with prefix <c>myapp.</c> is <c>Database:Password</c> (spec C-4).
/// Reloads (IConfigurationRoot.Reload, which SdDaemon.Hosting calls on SIGHUP) read the directory
/// again (spec C-5). Add it with <c>AddSystemdCredentials()</c>.
/// </summary>
public sealed class SystemdCredentialsConfigurationSource : IConfigurationSource
{
    /// <summary>
    /// The credentials directory; null (the default) reads <c>$CREDENTIALS_DIRECTORY</c>, and
    /// without it (no manager, or a unit without credentials) the source is empty.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>
    /// Only credentials whose names start with this (ordinal) become keys, without it. Null or
    /// empty takes every credential. A prefix keeps binary credentials (keys, certificates) out
    /// of configuration: those are read with <see cref="CredentialDirectory.TryRead"/>.
    /// </summary>
    public string? Prefix { get; set; }

    /// <summary>What in a file name separates configuration sections; default <c>__</c>. Null or empty: names are kept as they are.</summary>
    public string? SectionDelimiter { get; set; } = "__";

    /// <summary>The largest credential read, in bytes; default <see cref="CredentialDirectory.DefaultMaxSize"/> (1 MiB).</summary>
    public int MaxSize { get; set; } = 1024 * 1024; // CredentialDirectory.DefaultMaxSize (Linux-only API)

    /// <summary>Removes one trailing line break (<c>\n</c> or <c>\r\n</c>) from each value, as files written by <c>echo</c> have. Default true.</summary>
    public bool TrimTrailingNewline { get; set; } = true;

    /// <inheritdoc />
    public IConfigurationProvider Build(IConfigurationBuilder builder) =>
        OperatingSystem.IsLinux() ? new SystemdCredentialsConfigurationProvider(this) : new EmptyProvider();

    private sealed class EmptyProvider : ConfigurationProvider;
}
