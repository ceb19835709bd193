using System.Runtime.Versioning;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// The service's credentials: the files systemd places in <c>$CREDENTIALS_DIRECTORY</c> for
/// LoadCredential=, LoadCredentialEncrypted= (decrypted), SetCredential=, SetCredentialEncrypted=
/// and ImportCredential= (see <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Credentials">systemd.exec(5), "Credentials"</see>
/// and <see href="https://systemd.io/CREDENTIALS/">systemd.io/CREDENTIALS</see>).
/// Every read is bounded by <see cref="MaxSize"/>, refuses what is not a regular file and refuses a
/// symbolic link that leaves the directory; errors are <see cref="CredentialException"/>s that
/// name the file and never contain its content (spec C-1..C-5).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CredentialDirectory
{
    /// <summary>
    /// The default bound on one credential: 1 MiB, systemd's own limit for a credential
    /// (CREDENTIAL_SIZE_MAX), so that nothing the manager accepted is refused here.
    /// </summary>
    public const int DefaultMaxSize = 1024 * 1024;

    private const int NameMax = 255; // NAME_MAX: a credential name is a file name

    /// <summary>Opens <paramref name="path"/> as a credentials directory.</summary>
    /// <param name="path">An absolute path to an existing directory.</param>
    /// <param name="maxSize">The largest credential read, in bytes (at least 1).</param>
    /// <exception cref="CredentialException">The path is not absolute, does not exist or is not a directory (spec C-1).</exception>
    public CredentialDirectory(string path, int maxSize = DefaultMaxSize)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 1);
        if (!System.IO.Path.IsPathFullyQualified(path))
        {
            throw new CredentialException(null, $"{EnvironmentVariables.CredentialsDirectory}='{path}' is not an absolute path", Errno.EINVAL);
        }

        int error = Libc.PathStatx(path, Libc.STATX_TYPE, out Libc.Statx st);
        if (error != 0)
        {
            throw new CredentialException(null, Errno.Describe($"the credentials directory {path} ({EnvironmentVariables.CredentialsDirectory}) cannot be used", error), error);
        }

        if (st.FileType != Libc.S_IFDIR)
        {
            throw new CredentialException(null, $"the credentials directory {path} ({EnvironmentVariables.CredentialsDirectory}) is not a directory", Errno.ENOTDIR);
        }

        Path = path;
        MaxSize = maxSize;
    }

    /// <summary>The directory's path.</summary>
    public string Path { get; }

    /// <summary>The largest credential this reads, in bytes; a larger one is a <see cref="CredentialException"/> (spec C-3).</summary>
    public int MaxSize { get; }

    /// <summary>
    /// The credentials directory of this service: null outside a service manager (no
    /// <c>$CREDENTIALS_DIRECTORY</c>, or the unit has no credentials), which is not an error
    /// (spec C-1).
    /// </summary>
    /// <exception cref="CredentialException">The variable is set but names no directory (spec C-1).</exception>
    public static CredentialDirectory? FromEnvironment(int maxSize = DefaultMaxSize) =>
        FromEnvironment(ProcessEnvironmentSource.Instance, maxSize);

    internal static CredentialDirectory? FromEnvironment(IEnvironmentSource environment, int maxSize)
    {
        string? path = environment.Get(EnvironmentVariables.CredentialsDirectory);
        return path is null ? null : new CredentialDirectory(path, maxSize);
    }

    /// <summary>
    /// The credentials' names, sorted ordinally. Subdirectories are not credentials and are left
    /// out; everything else (including what later fails to read) is listed.
    /// </summary>
    public IReadOnlyList<string> GetNames()
    {
        var names = new List<string>();
        try
        {
            foreach (FileSystemInfo entry in new DirectoryInfo(Path).EnumerateFileSystemInfos())
            {
                if ((entry.Attributes & FileAttributes.Directory) == 0 || entry.LinkTarget is not null)
                {
                    names.Add(entry.Name);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CredentialException(null, $"the credentials directory {Path} cannot be listed: {e.Message}", e is UnauthorizedAccessException ? Errno.EACCES : Errno.EIO);
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Reads the credential <paramref name="name"/>; false when there is none by that name.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid credential name (a file name).</exception>
    /// <exception cref="CredentialException">It exists but cannot be read within the rules (spec C-2, C-3).</exception>
    public bool TryRead(string name, out byte[] value)
    {
        ValidateName(name);
        return TryReadFile(name, out value);
    }

    /// <summary>Reads the credential <paramref name="name"/>.</summary>
    /// <exception cref="CredentialException">There is none by that name, or it cannot be read (spec C-2, C-3).</exception>
    public byte[] Read(string name) =>
        TryRead(name, out byte[] value) ? value : throw new CredentialException(name, $"there is no credential '{name}' in {Path}", Errno.ENOENT);

    /// <summary>
    /// Reads the credential <paramref name="name"/> as UTF-8 text (strict: invalid UTF-8 is an
    /// error, not replacement characters); false when there is none by that name.
    /// </summary>
    /// <exception cref="CredentialException">It cannot be read, or it is not UTF-8 (spec C-2..C-4).</exception>
    public bool TryReadText(string name, out string value)
    {
        value = "";
        if (!TryRead(name, out byte[] bytes))
        {
            return false;
        }

        value = DecodeText(name, bytes);
        return true;
    }

    /// <summary>
    /// An X.509 certificate with its private key from PEM credentials: <paramref name="certificateName"/>
    /// holds the certificate (PEM) and <paramref name="keyName"/> the key (PEM; null when the
    /// certificate credential holds both).
    /// </summary>
    /// <exception cref="CredentialException">A credential is missing or cannot be read.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The PEM text is not a certificate or key.</exception>
    public X509Certificate2 ReadCertificate(string certificateName, string? keyName = null)
    {
        string certificate = DecodeText(certificateName, Read(certificateName));
        string key = keyName is null ? certificate : DecodeText(keyName, Read(keyName));
        return X509Certificate2.CreateFromPem(certificate, key);
    }

    /// <summary>Opens without following a link, checks a link stays inside, reads bounded.</summary>
    private bool TryReadFile(string name, out byte[] value)
    {
        value = [];
        string path = System.IO.Path.Join(Path, name);
        int fd = OpenNoFollow(path, out int error);
        if (fd < 0 && error == Errno.ELOOP)
        {
            // A symbolic link: allowed while it stays inside the directory (spec C-2).
            string? target = ResolveInside(name, path);
            fd = OpenNoFollow(target, out error);
        }

        if (fd < 0)
        {
            return error == Errno.ENOENT
                ? false
                : throw new CredentialException(name, Errno.Describe($"the credential '{name}' in {Path} cannot be opened", error), error);
        }

        using var handle = new FileDescriptorHandle(fd);
        value = ReadBounded(name, fd);
        return true;
    }

    /// <summary>Strict UTF-8; the error names the file and says nothing of its bytes (spec C-4).</summary>
    private static string DecodeText(string name, byte[] bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new CredentialException(name, $"the credential '{name}' is not UTF-8 text; read binary credentials with {nameof(CredentialDirectory)}.{nameof(TryRead)}", Errno.EINVAL);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static void ValidateName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        // credential_name_valid(): a valid file name of at most NAME_MAX bytes.
        if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal)
            || name.Contains('\0', StringComparison.Ordinal) || Encoding.UTF8.GetByteCount(name) > NameMax)
        {
            throw new ArgumentException($"'{name}' is not a credential name (a file name of at most {NameMax} bytes, without '/')", nameof(name));
        }
    }

    private static unsafe int OpenNoFollow(string path, out int error)
    {
        // O_NONBLOCK: a FIFO planted in the directory must not block the open; O_NOFOLLOW: links
        // are resolved and checked by ResolveInside first.
        byte[] z = Libc.Utf8Z(path);
        fixed (byte* p = z)
        {
            int fd = Libc.Open(p, Libc.O_RDONLY | Libc.O_CLOEXEC | Libc.O_NOFOLLOW | Libc.O_NONBLOCK | Libc.O_NOCTTY, 0);
            error = fd < 0 ? Libc.LastErrno : 0;
            return fd;
        }
    }

    private string ResolveInside(string name, string path)
    {
        string? directory = new DirectoryInfo(Path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? System.IO.Path.GetFullPath(Path);
        string? target;
        try
        {
            target = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName;
        }
        catch (IOException e)
        {
            throw new CredentialException(name, $"the credential '{name}' in {Path} is a symbolic link that cannot be resolved: {e.Message}", Errno.ELOOP);
        }

        string prefix = directory.EndsWith('/') ? directory : directory + "/";
        if (target is null || !target.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new CredentialException(name, $"the credential '{name}' in {Path} is a symbolic link that leaves the credentials directory; refused", Errno.ELOOP);
        }

        return target;
    }

    private unsafe byte[] ReadBounded(string name, int fd)
    {
        int error = Libc.FStatx(fd, Libc.STATX_BASIC_STATS, out Libc.Statx st);
        if (error != 0)
        {
            throw new CredentialException(name, Errno.Describe($"the credential '{name}' in {Path} cannot be examined", error), error);
        }

        if (st.FileType != Libc.S_IFREG)
        {
            throw new CredentialException(name, $"the credential '{name}' in {Path} is not a regular file; refused", Errno.EINVAL);
        }

        // Read one byte more than allowed: a file that grew after fstat is still caught.
        byte[] buffer = new byte[checked(MaxSize + 1)];
        int filled = 0;
        fixed (byte* p = buffer)
        {
            while (filled < buffer.Length)
            {
                nint n = Libc.PRead(fd, p + filled, (nuint)(buffer.Length - filled), filled);
                if (n < 0)
                {
                    error = Libc.LastErrno;
                    if (error == Errno.EINTR)
                    {
                        continue;
                    }

                    throw new CredentialException(name, Errno.Describe($"the credential '{name}' in {Path} cannot be read", error), error);
                }

                if (n == 0)
                {
                    break;
                }

                filled += (int)n;
            }
        }

        if (filled > MaxSize)
        {
            throw new CredentialException(name, $"the credential '{name}' in {Path} is larger than {MaxSize} bytes; refused", Errno.EFBIG);
        }

        return buffer.AsSpan(0, filled).ToArray();
    }
}
