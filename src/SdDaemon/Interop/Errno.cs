using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>Linux errno values (asm-generic; the same on every architecture .NET runs on), sorted by value,
/// and the one way the library words an errno in a message.</summary>
internal static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int E2BIG = 7;
    public const int EBADF = 9;
    public const int ECHILD = 10;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENODEV = 19;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int ENFILE = 23;
    public const int EMFILE = 24;
    public const int ENOTTY = 25;
    public const int EFBIG = 27;
    public const int EPIPE = 32;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ELOOP = 40;
    public const int EPROTO = 71;
    public const int EBADMSG = 74;
    public const int ENOTSOCK = 88;
    public const int EDESTADDRREQ = 89;
    public const int EMSGSIZE = 90;
    public const int EPROTOTYPE = 91;
    public const int ENOPROTOOPT = 92;
    public const int EPROTONOSUPPORT = 93;
    public const int ESOCKTNOSUPPORT = 94;
    public const int EOPNOTSUPP = 95;
    public const int EPFNOSUPPORT = 96;
    public const int EAFNOSUPPORT = 97;
    public const int EADDRINUSE = 98;
    public const int ECONNRESET = 104;
    public const int ENOBUFS = 105;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int ECONNREFUSED = 111;
    public const int EHOSTDOWN = 112;
    public const int EINPROGRESS = 115;

    /// <summary>MAX_ERRNO: the largest value the kernel returns as an errno.</summary>
    public const int MaxErrno = 4095;

    /// <summary><paramref name="errno"/> when it is one (1 to <see cref="MaxErrno"/>), else EIO.</summary>
    public static int ValidOrEIO(int errno) => errno is > 0 and <= MaxErrno ? errno : EIO;

    /// <summary>systemd's ERRNO_IS_NOT_SUPPORTED: the kernel lacks this protocol, family or type.</summary>
    public static bool IsNotSupported(int errno) =>
        errno is EOPNOTSUPP or ENOTTY or ENOSYS or EAFNOSUPPORT or EPFNOSUPPORT or EPROTONOSUPPORT
            or ESOCKTNOSUPPORT or ENOPROTOOPT;

    /// <summary>"errno 13: Permission denied": how every message of the library names an errno.</summary>
    public static string Describe(int errno) => $"errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)}";

    /// <summary>"<paramref name="what"/> (errno 13: Permission denied)", or <see cref="Describe(int)"/> alone without <paramref name="what"/>.</summary>
    public static string Describe(string? what, int errno) => what is null ? Describe(errno) : $"{what} ({Describe(errno)})";
}
