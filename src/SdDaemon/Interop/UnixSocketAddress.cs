using System.Text;

namespace SdDaemon.Interop;

/// <summary>
/// struct sockaddr_un for a path or an abstract name (<c>@name</c>): the one place that encodes
/// one, with libsystemd's limits. A path counts its trailing NUL in the address length; an abstract name (a leading NUL in
/// place of <c>@</c>) does not, because its length is part of its identity (spec N-2).
/// </summary>
internal static class UnixSocketAddress
{
    /// <summary>sizeof(sun_path).</summary>
    public const int SunPathLength = 108;

    /// <summary>Encodes <paramref name="text"/>; returns 0, or EINVAL / ENAMETOOLONG with <paramref name="detail"/>.</summary>
    public static int TryEncode(string text, out byte[]? sockaddr, out string? detail)
    {
        sockaddr = null;
        detail = null;
        byte[] path = Encoding.UTF8.GetBytes(text);
        if (path.Length < 2 || (path[0] != (byte)'/' && path[0] != (byte)'@'))
        {
            detail = $"'{text}' is not an absolute AF_UNIX path or an @abstract name of at least 2 characters";
            return Errno.EINVAL;
        }

        bool isAbstract = path[0] == (byte)'@';
        // libsystemd (sockaddr_un_set_path) allows 107 bytes for both forms, counting the '@', and
        // says EINVAL for an abstract name that is too long, ENAMETOOLONG for a path.
        const int maxLength = SunPathLength - 1;
        if (path.Length > maxLength)
        {
            detail = $"'{text}' is {path.Length} bytes long; an {(isAbstract ? "abstract name" : "AF_UNIX path")} may have at most {maxLength}";
            return isAbstract ? Errno.EINVAL : Errno.ENAMETOOLONG;
        }

        if (!isAbstract && Array.IndexOf(path, (byte)0) >= 0)
        {
            detail = $"'{text}' contains a NUL byte";
            return Errno.EINVAL;
        }

        sockaddr = Build(path, isAbstract);
        return 0;
    }

    /// <summary>
    /// Encodes a filesystem path as given: relative too, and a leading <c>@</c> is a file name, not the
    /// abstract namespace (how the journal writer has always taken its socket path).
    /// </summary>
    /// <exception cref="ArgumentException">The path is empty or longer than 107 bytes.</exception>
    public static byte[] EncodePath(string path, string parameterName)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path);
        return bytes.Length is > 0 and < SunPathLength
            ? Build(bytes, isAbstract: false)
            : throw new ArgumentException($"A socket path has 1 to {SunPathLength - 1} bytes.", parameterName);
    }

    /// <summary>sa_family_t (native byte order), then the path with its NUL, or a NUL and the abstract name.</summary>
    private static byte[] Build(byte[] path, bool isAbstract)
    {
        byte[] sockaddr = new byte[2 + path.Length + (isAbstract ? 0 : 1)];
        BitConverter.TryWriteBytes(sockaddr, (ushort)Libc.AF_UNIX);
        path.CopyTo(sockaddr, 2);
        if (isAbstract)
        {
            sockaddr[2] = 0;
        }

        return sockaddr;
    }

    /// <summary>Encodes <paramref name="text"/> or throws <see cref="ArgumentException"/>.</summary>
    public static byte[] Encode(string text) =>
        TryEncode(text, out byte[]? sockaddr, out string? detail) == 0 ? sockaddr! : throw new ArgumentException(detail, nameof(text));
}
