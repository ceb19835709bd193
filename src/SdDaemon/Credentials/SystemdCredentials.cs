
namespace SdDaemon;

/// <summary>
/// This service's credentials, read directly: the shortcuts over
/// <see cref="CredentialDirectory.FromEnvironment(int)"/> for a binary key or a secret string
/// (see <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Credentials">systemd.exec(5), "Credentials"</see>).
/// Outside a service manager there are no credentials: the reads return false, never throw; so on
/// other platforms, which have no service manager passing credentials.
/// </summary>
public static class SystemdCredentials
{
    /// <summary>The path of <c>$CREDENTIALS_DIRECTORY</c>, or null when the service has none.</summary>
    public static string? DirectoryPath => Environment.GetEnvironmentVariable(EnvironmentVariables.CredentialsDirectory);

    /// <summary>Reads the credential <paramref name="name"/> as bytes (keys, certificates); false when there is none.</summary>
    /// <exception cref="CredentialException">The directory is malformed, or the credential cannot be read (spec C-1..C-3).</exception>
    public static bool TryRead(string name, out byte[] value)
    {
        value = [];
        return OperatingSystem.IsLinux() && CredentialDirectory.FromEnvironment() is { } directory && directory.TryRead(name, out value);
    }

    /// <summary>Reads the credential <paramref name="name"/> as UTF-8 text; false when there is none.</summary>
    /// <exception cref="CredentialException">The directory is malformed, or the credential cannot be read or is not UTF-8 (spec C-1..C-4).</exception>
    public static bool TryReadText(string name, out string value)
    {
        value = "";
        return OperatingSystem.IsLinux() && CredentialDirectory.FromEnvironment() is { } directory && directory.TryReadText(name, out value);
    }
}
