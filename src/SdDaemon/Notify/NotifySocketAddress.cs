using System.Buffers.Binary;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon.Notify;

/// <summary>
/// A parsed NOTIFY_SOCKET value (spec N-1..N-5): an AF_UNIX path or abstract name, or an AF_VSOCK
/// CID and port. The only place where the variable's text becomes a sockaddr.
/// </summary>
internal sealed class NotifySocketAddress
{
    /// <summary>sizeof(struct sockaddr_vm).</summary>
    public const int VsockSockAddrLength = 16;

    public const uint VMADDR_CID_ANY = uint.MaxValue;
    private const uint VMADDR_PORT_ANY = uint.MaxValue;

    private NotifySocketAddress(string text, int family, int socketType, byte[] sockaddr)
    {
        Text = text;
        Family = family;
        SocketType = socketType;
        SockAddr = sockaddr;
    }

    /// <summary>The NOTIFY_SOCKET text this was parsed from.</summary>
    public string Text { get; }

    /// <summary>AF_UNIX or AF_VSOCK.</summary>
    public int Family { get; }

    /// <summary>SOCK_DGRAM, SOCK_SEQPACKET or SOCK_STREAM; 0 for plain <c>vsock:</c> (datagram, with fallback).</summary>
    public int SocketType { get; }

    /// <summary>The sockaddr bytes, exactly as long as the address length passed to connect().</summary>
    public byte[] SockAddr { get; }

    /// <summary>
    /// Parses <paramref name="text"/>. Returns 0, or the errno libsystemd gives for it with a
    /// description of what is wrong in <paramref name="detail"/>.
    /// </summary>
    public static int TryParse(string text, out NotifySocketAddress? address, out string? detail)
    {
        address = null;
        detail = null;
        if (text.StartsWith('/') || text.StartsWith('@'))
        {
            return TryParseUnix(text, out address, out detail);
        }

        (string prefix, int type)[] vsockForms =
        [
            ("vsock:", 0),
            ("vsock-dgram:", Libc.SOCK_DGRAM),
            ("vsock-seqpacket:", Libc.SOCK_SEQPACKET),
            ("vsock-stream:", Libc.SOCK_STREAM),
        ];
        foreach ((string prefix, int type) in vsockForms)
        {
            if (text.StartsWith(prefix, StringComparison.Ordinal))
            {
                return TryParseVsock(text, text.AsSpan(prefix.Length), type, out address, out detail);
            }
        }

        detail = text.Length == 0
            ? "NOTIFY_SOCKET is set but empty"
            : $"NOTIFY_SOCKET '{text}' is neither an absolute path (/...), an abstract name (@...) nor a vsock address (vsock:CID:PORT)";
        return Errno.EPROTO;
    }

    private static int TryParseUnix(string text, out NotifySocketAddress? address, out string? detail)
    {
        address = null;
        int error = UnixSocketAddress.TryEncode(text, out byte[]? sockaddr, out detail);
        if (error != 0)
        {
            detail = "NOTIFY_SOCKET " + detail;
            return error;
        }

        address = new NotifySocketAddress(text, Libc.AF_UNIX, Libc.SOCK_DGRAM, sockaddr!);
        return 0;
    }

    private static int TryParseVsock(string text, ReadOnlySpan<char> rest, int type, out NotifySocketAddress? address, out string? detail)
    {
        address = null;
        detail = null;
        int colon = rest.IndexOf(':');
        if (colon < 0)
        {
            detail = $"NOTIFY_SOCKET '{text}' has no port (expected vsock:CID:PORT)";
            return Errno.EINVAL;
        }

        ReadOnlySpan<char> cidText = rest[..colon];
        ReadOnlySpan<char> portText = rest[(colon + 1)..];
        int error = SystemdNumber.TryParseUInt32(portText, out uint port);
        if (error == 0 && port == VMADDR_PORT_ANY)
        {
            error = Errno.EINVAL;
        }

        if (error != 0)
        {
            detail = $"NOTIFY_SOCKET '{text}' has an invalid vsock port '{portText}'";
            return error;
        }

        uint cid;
        if (cidText.IsEmpty || cidText.SequenceEqual("any"))
        {
            cid = VMADDR_CID_ANY;
        }
        else if (cidText.SequenceEqual("hypervisor"))
        {
            cid = 0;
        }
        else if (cidText.SequenceEqual("local"))
        {
            cid = 1;
        }
        else if (cidText.SequenceEqual("host"))
        {
            cid = 2;
        }
        else if ((error = SystemdNumber.TryParseUInt32(cidText, out cid)) != 0)
        {
            detail = $"NOTIFY_SOCKET '{text}' has an invalid vsock CID '{cidText}'";
            return error;
        }

        if (cid == VMADDR_CID_ANY)
        {
            // libsystemd always requires a specific CID to send to.
            detail = $"NOTIFY_SOCKET '{text}' does not name a vsock CID (ANY cannot be sent to)";
            return Errno.EINVAL;
        }

        var sockaddr = new byte[VsockSockAddrLength];
        WriteVsockSockAddr(sockaddr, cid, port);
        address = new NotifySocketAddress(text, Libc.AF_VSOCK, type, sockaddr);
        return 0;
    }

    /// <summary>struct sockaddr_vm: family, reserved, port, cid, flags, zero[3] (<paramref name="destination"/> zeroed).</summary>
    public static void WriteVsockSockAddr(Span<byte> destination, uint cid, uint port)
    {
        WriteNative16(destination, Libc.AF_VSOCK);
        WriteNative32(destination[4..], port);
        WriteNative32(destination[8..], cid);
    }

    private static void WriteNative16(Span<byte> destination, int value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)value);
        }
    }

    private static void WriteNative32(Span<byte> destination, uint value)
    {
        if (BitConverter.IsLittleEndian)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination, value);
        }
        else
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, value);
        }
    }
}
