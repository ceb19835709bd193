namespace SdDaemon;

/// <summary>
/// A credential, or the credentials directory, cannot be read: the directory named by
/// <c>$CREDENTIALS_DIRECTORY</c> is missing, a file is too large, unreadable, not a regular file,
/// a symbolic link that leaves the directory, not valid UTF-8 where text is wanted, or its name is
/// not a valid configuration key. The message names the file and never contains its content
/// (spec C-2..C-5).
/// </summary>
public sealed class CredentialException : SdDaemonException
{
    /// <summary>Creates the exception for the credential <paramref name="name"/> (null: the directory itself).</summary>
    public CredentialException(string? name, string message, int errno = 0)
        : base(message, errno)
    {
        CredentialName = name;
    }

    /// <summary>The credential's file name, or null when the directory itself is at fault.</summary>
    public string? CredentialName { get; }
}
