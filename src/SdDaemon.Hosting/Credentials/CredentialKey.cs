namespace SdDaemon.Hosting;

/// <summary>The one mapping from a credential's file name to a configuration key (spec C-4).</summary>
internal static class CredentialKey
{
    /// <summary>
    /// The key for <paramref name="fileName"/>, or null when it does not start with
    /// <paramref name="prefix"/>. A key must be made of non-empty sections without control
    /// characters; anything else is an error that names the file.
    /// </summary>
    public static string? FromName(string fileName, string? prefix, string? delimiter)
    {
        string name = fileName;
        if (!string.IsNullOrEmpty(prefix))
        {
            if (!name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return null;
            }

            name = name[prefix.Length..];
        }

        string key = string.IsNullOrEmpty(delimiter) ? name : name.Replace(delimiter, ":", StringComparison.Ordinal);
        string? problem = key.Length == 0 ? "it is empty once the prefix is removed"
            : key.Split(':').Any(section => section.Length == 0) ? "it has an empty section (a leading, trailing or doubled separator)"
            : key.Any(char.IsControl) ? "it contains a control character"
            : null;
        return problem is null
            ? key
            : throw new CredentialException(fileName, $"the credential '{fileName}' does not name a configuration key: {problem}", errno: 22); // EINVAL
    }
}
