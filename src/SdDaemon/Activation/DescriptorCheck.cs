using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// What a descriptor is, with libsystemd's exact semantics: the
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_is_fifo.html">sd_is_fifo(3)</see> family
/// (sd_is_fifo, sd_is_special, sd_is_socket, sd_is_socket_inet, sd_is_socket_unix,
/// sd_is_socket_sockaddr, sd_is_mq). Each answers yes, no, or failed with an errno (spec L-9); a
/// negative descriptor is EBADF, a closed one the errno of fstat.
/// </summary>
/// <remarks>Every method takes the descriptor as an <c>int</c> (for example <see cref="ListenFd.Fd"/>)
/// or as a <see cref="SafeHandle"/> (a <see cref="Socket.SafeHandle"/>, a
/// <see cref="FileStream.SafeFileHandle"/>), which is kept alive during the check.</remarks>
[SupportedOSPlatform("linux")]
public static class DescriptorCheck
{
    /// <summary>sd_is_fifo: is <paramref name="fd"/> a FIFO, and, if <paramref name="path"/> is given,
    /// the same inode as that path (a path that does not exist answers no)?</summary>
    public static CheckResult IsFifo(int fd, string? path = null)
    {
        CheckResult r = StatDescriptor(fd, out Libc.Statx st);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        if (st.FileType != Libc.S_IFIFO)
        {
            return CheckResult.No;
        }

        if (path is null)
        {
            return CheckResult.Yes;
        }

        r = StatPath(path, out Libc.Statx other);
        return r.Outcome != CheckOutcome.Yes ? r : CheckResult.From(st.Identity.SameFile(other.Identity));
    }

    /// <inheritdoc cref="IsFifo(int, string?)"/>
    public static CheckResult IsFifo(SafeHandle handle, string? path = null) => With(handle, fd => IsFifo(fd, path));

    /// <summary>sd_is_special: is <paramref name="fd"/> a regular file or a character device, and, if
    /// <paramref name="path"/> is given, the same file (regular files: the same inode; devices: the same
    /// device number)?</summary>
    public static CheckResult IsSpecial(int fd, string? path = null)
    {
        CheckResult r = StatDescriptor(fd, out Libc.Statx st);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        if (st.FileType is not (Libc.S_IFREG or Libc.S_IFCHR))
        {
            return CheckResult.No;
        }

        if (path is null)
        {
            return CheckResult.Yes;
        }

        r = StatPath(path, out Libc.Statx other);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        if (st.FileType == Libc.S_IFREG && other.FileType == Libc.S_IFREG)
        {
            return CheckResult.From(st.Identity.SameFile(other.Identity));
        }

        if (st.FileType == Libc.S_IFCHR && other.FileType == Libc.S_IFCHR)
        {
            return CheckResult.From(st.RDevMajor == other.RDevMajor && st.RDevMinor == other.RDevMinor);
        }

        return CheckResult.No;
    }

    /// <inheritdoc cref="IsSpecial(int, string?)"/>
    public static CheckResult IsSpecial(SafeHandle handle, string? path = null) => With(handle, fd => IsSpecial(fd, path));

    /// <summary>sd_is_socket: is <paramref name="fd"/> a socket of this family (<see cref="AddressFamily.Unspecified"/>:
    /// any) and type (<see cref="SocketType.Unknown"/>: any), listening (true), not listening (false) or either (null)?</summary>
    /// <exception cref="ArgumentException">A family other than Unspecified, InterNetwork, InterNetworkV6 or Unix
    /// (use <see cref="IsSocket(int, int, SocketType, bool?)"/> with the AF_* number for any other family).</exception>
    public static CheckResult IsSocket(int fd, AddressFamily family = AddressFamily.Unspecified, SocketType type = SocketType.Unknown, bool? listening = null) =>
        IsSocketOfDomain(fd, ToDomain(family, nameof(family)), type, listening);

    /// <inheritdoc cref="IsSocket(int, AddressFamily, SocketType, bool?)"/>
    public static CheckResult IsSocket(SafeHandle handle, AddressFamily family = AddressFamily.Unspecified, SocketType type = SocketType.Unknown, bool? listening = null) =>
        With(handle, fd => IsSocket(fd, family, type, listening));

    /// <summary>
    /// sd_is_socket with the family as the Linux AF_* number, so that every family works, including
    /// those .NET does not model (AF_NETLINK=16, AF_PACKET=17, AF_VSOCK=40, ...): is <paramref name="fd"/>
    /// a socket of this family (0: any) and type (<see cref="SocketType.Unknown"/>: any), listening
    /// (true), not listening (false) or either (null)? A negative family fails with EINVAL, as in libsystemd.
    /// </summary>
    public static CheckResult IsSocket(int fd, int family, SocketType type = SocketType.Unknown, bool? listening = null)
    {
        if (fd < 0)
        {
            return CheckResult.Failure(Errno.EBADF);
        }

        return family < 0 ? CheckResult.Failure(Errno.EINVAL) : IsSocketOfDomain(fd, family, type, listening);
    }

    /// <inheritdoc cref="IsSocket(int, int, SocketType, bool?)"/>
    public static CheckResult IsSocket(SafeHandle handle, int family, SocketType type = SocketType.Unknown, bool? listening = null) =>
        With(handle, fd => IsSocket(fd, family, type, listening));

    private static CheckResult IsSocketOfDomain(int fd, int domain, SocketType type, bool? listening)
    {
        if (domain == 0)
        {
            return IsSocketInternal(fd, type, listening);
        }

        Span<byte> address = stackalloc byte[MaxAddress];
        CheckResult r = SocketAddress(fd, type, listening, address, out _);
        return r.Outcome != CheckOutcome.Yes ? r : CheckResult.From(BitConverter.ToUInt16(address) == domain);
    }

    /// <summary>sd_is_socket_inet: is <paramref name="fd"/> an IPv4 or IPv6 socket (<paramref name="family"/>
    /// Unspecified: either), of this type and listening state, bound to <paramref name="port"/> (0: any port)?</summary>
    /// <exception cref="ArgumentException">A family other than Unspecified, InterNetwork or InterNetworkV6.</exception>
    public static CheckResult IsSocketInet(int fd, AddressFamily family = AddressFamily.Unspecified, SocketType type = SocketType.Unknown, bool? listening = null, ushort port = 0)
    {
        if (family is not (AddressFamily.Unspecified or AddressFamily.InterNetwork or AddressFamily.InterNetworkV6))
        {
            throw new ArgumentException("sd_is_socket_inet takes Unspecified, InterNetwork or InterNetworkV6.", nameof(family));
        }

        int domain = ToDomain(family, nameof(family));
        Span<byte> address = stackalloc byte[MaxAddress];
        CheckResult r = SocketAddress(fd, type, listening, address, out int length);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        int actual = BitConverter.ToUInt16(address);
        if (actual is not (Libc.AF_INET or Libc.AF_INET6))
        {
            return CheckResult.No;
        }

        if (domain > 0 && actual != domain)
        {
            return CheckResult.No;
        }

        if (port > 0)
        {
            // sin_port and sin6_port are both at offset 2, in network byte order.
            int actualPort = (address[2] << 8) | address[3];
            return CheckResult.From(actualPort == port);
        }

        return CheckResult.Yes;
    }

    /// <inheritdoc cref="IsSocketInet(int, AddressFamily, SocketType, bool?, ushort)"/>
    public static CheckResult IsSocketInet(SafeHandle handle, AddressFamily family = AddressFamily.Unspecified, SocketType type = SocketType.Unknown, bool? listening = null, ushort port = 0) =>
        With(handle, fd => IsSocketInet(fd, family, type, listening, port));

    /// <summary>
    /// sd_is_socket_sockaddr: is <paramref name="fd"/> a socket of this type and listening state bound to
    /// <paramref name="endPoint"/>? The address must match exactly; a port of 0 matches any port, and for
    /// IPv6 a scope id of 0 matches any scope (flow information is not compared: .NET does not carry it).
    /// </summary>
    public static CheckResult IsSocketSockaddr(int fd, IPEndPoint endPoint, SocketType type = SocketType.Unknown, bool? listening = null)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        Span<byte> address = stackalloc byte[MaxAddress];
        CheckResult r = SocketAddress(fd, type, listening, address, out int length);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        int expectedDomain = ToDomain(endPoint.AddressFamily, nameof(endPoint));
        if (BitConverter.ToUInt16(address) != expectedDomain)
        {
            return CheckResult.No;
        }

        int actualPort = (address[2] << 8) | address[3];
        if (endPoint.Port != 0 && actualPort != endPoint.Port)
        {
            return CheckResult.No;
        }

        if (expectedDomain == Libc.AF_INET)
        {
            Span<byte> expected = stackalloc byte[4];
            endPoint.Address.TryWriteBytes(expected, out _);
            return CheckResult.From(address.Slice(4, 4).SequenceEqual(expected));
        }

        // sockaddr_in6: family 0, port 2, flowinfo 4, address 8..24, scope id 24.
        uint scope = BitConverter.ToUInt32(address[24..]);
        if (endPoint.Address.ScopeId != 0 && scope != (uint)endPoint.Address.ScopeId)
        {
            return CheckResult.No;
        }

        Span<byte> expected6 = stackalloc byte[16];
        endPoint.Address.TryWriteBytes(expected6, out _);
        return CheckResult.From(address.Slice(8, 16).SequenceEqual(expected6));
    }

    /// <inheritdoc cref="IsSocketSockaddr(int, IPEndPoint, SocketType, bool?)"/>
    public static CheckResult IsSocketSockaddr(SafeHandle handle, IPEndPoint endPoint, SocketType type = SocketType.Unknown, bool? listening = null) =>
        With(handle, fd => IsSocketSockaddr(fd, endPoint, type, listening));

    /// <summary>
    /// sd_is_socket_unix: is <paramref name="fd"/> an AF_UNIX socket of this type and listening state,
    /// bound to <paramref name="path"/>? Null: any address. Empty: an unnamed (unbound) socket. A path:
    /// that file-system path. A name starting with <c>@</c> or a NUL character: that abstract name,
    /// compared with its exact length. Paths compare as bytes, like libsystemd.
    /// </summary>
    public static CheckResult IsSocketUnix(int fd, SocketType type = SocketType.Unknown, bool? listening = null, string? path = null)
    {
        Span<byte> address = stackalloc byte[MaxAddress];
        CheckResult r = SocketAddress(fd, type, listening, address, out int length);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        if (BitConverter.ToUInt16(address) != Libc.AF_UNIX)
        {
            return CheckResult.No;
        }

        if (path is null)
        {
            return CheckResult.Yes;
        }

        const int SunPathOffset = 2;
        if (path.Length == 0)
        {
            return CheckResult.From(length == SunPathOffset);
        }

        bool isAbstract = path[0] is '@' or '\0';
        byte[] bytes = Encoding.UTF8.GetBytes(isAbstract ? path[1..] : path);
        ReadOnlySpan<byte> sunPath = address[SunPathOffset..length];
        if (!isAbstract)
        {
            // The kernel's name plus its NUL must start with the path plus a NUL.
            return CheckResult.From(sunPath.Length >= bytes.Length + 1
                && sunPath[..bytes.Length].SequenceEqual(bytes) && sunPath[bytes.Length] == 0);
        }

        return CheckResult.From(sunPath.Length == bytes.Length + 1 && sunPath[0] == 0 && sunPath[1..].SequenceEqual(bytes));
    }

    /// <inheritdoc cref="IsSocketUnix(int, SocketType, bool?, string?)"/>
    public static CheckResult IsSocketUnix(SafeHandle handle, SocketType type = SocketType.Unknown, bool? listening = null, string? path = null) =>
        With(handle, fd => IsSocketUnix(fd, type, listening, path));

    /// <summary>sd_is_mq: is <paramref name="fd"/> a POSIX message queue, and, if <paramref name="name"/>
    /// (like <c>/myqueue</c>) is given, that queue (the same inode as <c>/dev/mqueue/name</c>)?</summary>
    public static unsafe CheckResult IsMessageQueue(int fd, string? name = null)
    {
        if (fd < 0)
        {
            return CheckResult.Failure(Errno.EBADF);
        }

        if (Libc.Fcntl(fd, Libc.F_GETFD, 0) < 0)
        {
            return CheckResult.Failure(Libc.LastErrno);
        }

        long* attributes = stackalloc long[16];
        if (Libc.MqGetAttr(fd, attributes) < 0)
        {
            int errno = Libc.LastErrno;
            return errno == Errno.EBADF ? CheckResult.No : CheckResult.Failure(errno); // EBADF here: valid, but not a queue
        }

        if (name is null)
        {
            return CheckResult.Yes;
        }

        if (!name.StartsWith('/'))
        {
            throw new ArgumentException("A message queue name starts with '/'.", nameof(name));
        }

        int error = Libc.FStatx(fd, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx st);
        if (error != 0)
        {
            return CheckResult.Failure(error);
        }

        error = Libc.PathStatx("/dev/mqueue" + name, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx other);
        if (error != 0)
        {
            return CheckResult.Failure(error);
        }

        return CheckResult.From(st.Identity.SameFile(other.Identity));
    }

    /// <inheritdoc cref="IsMessageQueue(int, string?)"/>
    public static CheckResult IsMessageQueue(SafeHandle handle, string? name = null) => With(handle, fd => IsMessageQueue(fd, name));

    private static unsafe CheckResult IsSocketInternal(int fd, SocketType type, bool? listening)
    {
        if (fd < 0)
        {
            return CheckResult.Failure(Errno.EBADF);
        }

        int wantedType = type == SocketType.Unknown ? 0 : (int)type;
        if (wantedType < 0)
        {
            return CheckResult.Failure(Errno.EINVAL);
        }

        int error = Libc.FStatx(fd, Libc.STATX_TYPE, out Libc.Statx st);
        if (error != 0)
        {
            return CheckResult.Failure(error);
        }

        if (st.FileType != Libc.S_IFSOCK)
        {
            return CheckResult.No;
        }

        if (wantedType != 0)
        {
            int typeError = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, out int actual);
            if (typeError != 0 && typeError != Errno.EINVAL)
            {
                return CheckResult.Failure(typeError);
            }

            if (typeError != 0 || actual != wantedType)
            {
                return CheckResult.No;
            }
        }

        if (listening is { } wanted)
        {
            int listenError = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_ACCEPTCONN, out int accepting);
            if (listenError != 0 && listenError != Errno.EINVAL)
            {
                return CheckResult.Failure(listenError);
            }

            if (listenError != 0 || (accepting != 0) != wanted)
            {
                return CheckResult.No;
            }
        }

        return CheckResult.Yes;
    }

    /// <summary>Room for any sockaddr getsockname returns here (sockaddr_un is the largest, 110 bytes).</summary>
    private const int MaxAddress = 128;

    /// <summary>fstat of a descriptor for the file checks: Yes with its type and inode, or the failure.</summary>
    private static CheckResult StatDescriptor(int fd, out Libc.Statx st)
    {
        st = default;
        if (fd < 0)
        {
            return CheckResult.Failure(Errno.EBADF);
        }

        int error = Libc.FStatx(fd, Libc.STATX_TYPE | Libc.STATX_INO, out st);
        return error == 0 ? CheckResult.Yes : CheckResult.Failure(error);
    }

    /// <summary>stat of the path a file check compares with: a path that does not exist answers no, as in libsystemd.</summary>
    private static CheckResult StatPath(string path, out Libc.Statx st)
    {
        int error = Libc.PathStatx(path, Libc.STATX_TYPE | Libc.STATX_INO, out st);
        return error == 0 ? CheckResult.Yes : error is Errno.ENOENT or Errno.ENOTDIR ? CheckResult.No : CheckResult.Failure(error);
    }

    /// <summary>The socket checks' common part: Yes when <paramref name="fd"/> is a socket of this type
    /// and listening state, with its bound address (at least the family) in <paramref name="address"/>.</summary>
    private static CheckResult SocketAddress(int fd, SocketType type, bool? listening, Span<byte> address, out int length)
    {
        length = 0;
        CheckResult r = IsSocketInternal(fd, type, listening);
        if (r.Outcome != CheckOutcome.Yes)
        {
            return r;
        }

        int error = GetSockName(fd, address, out length);
        if (error != 0)
        {
            return CheckResult.Failure(error);
        }

        return length < sizeof(ushort) ? CheckResult.Failure(Errno.EINVAL) : CheckResult.Yes;
    }

    private static unsafe int GetSockName(int fd, Span<byte> address, out int length)
    {
        address.Clear();
        uint l = (uint)address.Length;
        fixed (byte* p = address)
        {
            if (Libc.GetSockName(fd, p, &l) < 0)
            {
                length = 0;
                return Libc.LastErrno;
            }
        }

        length = (int)Math.Min(l, (uint)address.Length);
        return 0;
    }

    private static int ToDomain(AddressFamily family, string parameterName) => family switch
    {
        AddressFamily.Unspecified => 0,
        AddressFamily.Unix => Libc.AF_UNIX,
        AddressFamily.InterNetwork => Libc.AF_INET,
        AddressFamily.InterNetworkV6 => Libc.AF_INET6,
        _ => throw new ArgumentException($"Address family {family} is not supported here (Unspecified, Unix, InterNetwork, InterNetworkV6); pass the Linux AF_* number to IsSocket(int fd, int family, ...) for other families.", parameterName),
    };

    private static CheckResult With(SafeHandle handle, Func<int, CheckResult> check)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (!HandleReference.TryAdd(handle, out HandleReference reference))
        {
            return CheckResult.Failure(Errno.EBADF);
        }

        using (reference)
        {
            return check(reference.Fd);
        }
    }
}
