using System.Net.Sockets;
using System.Runtime.Versioning;

namespace SdDaemon.Varlink;

/// <summary>
/// Where a service's Varlink socket comes from and how clients find it, the way systemd's own
/// services do it (spec V-9): a socket unit passes it with <c>FileDescriptorName=varlink</c> (the name
/// <c>sd_varlink_server_listen_auto</c> takes), or the service binds it in its runtime directory
/// (<c>RuntimeDirectory=</c>, <c>$RUNTIME_DIRECTORY</c>); and the registry
/// (<c>/run/varlink/registry</c>, for a user manager <c>$XDG_RUNTIME_DIR/varlink/registry</c>) holds a
/// symbolic link named after each interface that points at the socket, which is what
/// <c>varlinkctl list-registry</c> reads. A socket unit makes that link itself with
/// <c>Symlinks=/run/varlink/registry/INTERFACE</c>.
/// </summary>
[SupportedOSPlatform("linux")]
public static class VarlinkListener
{
    /// <summary>The descriptor name a socket unit gives the Varlink listener (<c>FileDescriptorName=varlink</c>).</summary>
    public const string FileDescriptorName = "varlink";

    /// <summary>The system registry of Varlink sockets.</summary>
    public const string SystemRegistryDirectory = "/run/varlink/registry";

    /// <summary>
    /// Binds and listens on a stream AF_UNIX socket at <paramref name="path"/>, replacing a socket file
    /// a previous instance left there (never another kind of file), readable and writable by everyone
    /// (access control is the directory's, and the methods' own: see <see cref="VarlinkCall.IsPeerPrivileged"/>).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="path"/> is not absolute or too long for sockaddr_un.</exception>
    /// <exception cref="IOException">A file that is no socket is in the way.</exception>
    /// <exception cref="SocketException">bind(2) or listen(2) failed.</exception>
    public static Socket Bind(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Interop.UnixSocketAddress.TryEncode(path, out _, out string? detail) != 0 || path[0] != '/')
        {
            throw new ArgumentException(detail ?? $"'{path}' is not an absolute path", nameof(path));
        }

        switch (FileType(path))
        {
            case 0:
                break;
            case Interop.Libc.S_IFSOCK:
                File.Delete(path); // a previous instance's: bind(2) would fail with EADDRINUSE
                break;
            default:
                throw new IOException($"{path} exists and is no socket; not replacing it");
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            File.SetUnixFileMode(path, (UnixFileMode)0x1B6); // 0666, as sd-varlink's listen_address default
            socket.Listen();
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The first directory of <c>$RUNTIME_DIRECTORY</c> (set by <c>RuntimeDirectory=</c>), or null.</summary>
    public static string? RuntimeDirectory
    {
        get
        {
            string? value = Environment.GetEnvironmentVariable("RUNTIME_DIRECTORY");
            string? first = value?.Split(':')[0];
            return string.IsNullOrEmpty(first) ? null : first;
        }
    }

    /// <summary>
    /// The registry this process can write: <see cref="SystemRegistryDirectory"/> for root,
    /// <c>$XDG_RUNTIME_DIR/varlink/registry</c> for a user (a user manager's services have
    /// XDG_RUNTIME_DIR); null when neither applies.
    /// </summary>
    public static string? RegistryDirectory =>
        Interop.Libc.GetEUid() == 0
            ? SystemRegistryDirectory
            : Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR") is { Length: > 0 } runtime ? Path.Combine(runtime, "varlink", "registry") : null;

    /// <summary>
    /// Links <paramref name="interfaceName"/> in <paramref name="registryDirectory"/> to
    /// <paramref name="socketPath"/> (replacing a link of that name), creating the directory (0755)
    /// when missing. Returns the link's path.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="interfaceName"/> is no interface name.</exception>
    /// <exception cref="IOException">The link could not be made (e.g. the registry is not writable).</exception>
    /// <exception cref="UnauthorizedAccessException">The registry is not writable.</exception>
    public static string Register(string interfaceName, string socketPath, string registryDirectory)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(socketPath);
        ArgumentNullException.ThrowIfNull(registryDirectory);
        if (!VarlinkNames.IsInterface(interfaceName))
        {
            throw new ArgumentException($"'{interfaceName}' is not a Varlink interface name", nameof(interfaceName));
        }

        Directory.CreateDirectory(registryDirectory, (UnixFileMode)0x1ED); // 0755
        string link = Path.Combine(registryDirectory, interfaceName);
        // Make the link under a temporary name and rename it over the old one: never a moment without.
        string temporary = Path.Combine(registryDirectory, $".#{interfaceName}.{Environment.ProcessId}");
        File.Delete(temporary);
        File.CreateSymbolicLink(temporary, socketPath);
        File.Move(temporary, link, overwrite: true);
        return link;
    }

    /// <summary>Removes the registry link <paramref name="link"/> if it still points at <paramref name="socketPath"/>
    /// (another instance may have replaced it). Never throws for a link that is gone.</summary>
    public static void Unregister(string link, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(link);
        try
        {
            if (new FileInfo(link).LinkTarget == socketPath)
            {
                File.Delete(link);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The S_IF* type of <paramref name="path"/> itself (a link is not followed); 0 when there is none.</summary>
    private static int FileType(string path) =>
        Interop.Libc.StatxPath(Interop.Libc.AT_FDCWD, path, Interop.Libc.AT_SYMLINK_NOFOLLOW, Interop.Libc.STATX_TYPE, out Interop.Libc.Statx status) == 0
            ? status.FileType
            : 0;
}
