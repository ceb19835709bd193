using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// The few libc calls .NET has no API for (ancillary data, pipes, poll on raw fds, ids).
/// Source-generated P/Invoke (<c>LibraryImport</c>) so that trimming and AOT see every call.
/// Every function sets errno; read it with <see cref="Marshal.GetLastPInvokeError"/>.
/// </summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    /// <summary>The same libc under another name, for functions that an older glibc lacks: NativeAOT's
    /// DirectPInvoke of "libc" does not cover it, so they stay bound at their first call.</summary>
    private const string LazyLib = "libc.so.6";

    // socket(2) domains, types and flags (Linux, asm-generic values).
    public const int AF_UNIX = 1;
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int AF_NETLINK = 16;
    public const int AF_VSOCK = 40;
    public const int SOCK_STREAM = 1;
    public const int SOCK_DGRAM = 2;
    public const int SOCK_RAW = 3;
    public const int SOCK_SEQPACKET = 5;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;

    public const int SOL_SOCKET = 1;
    public const int SO_TYPE = 3;
    public const int SO_ERROR = 4;
    public const int SO_SNDBUF = 7;
    public const int SO_RCVBUF = 8;
    public const int SO_PASSCRED = 16;
    public const int SO_ACCEPTCONN = 30;
    public const int SO_DOMAIN = 39;
    public const int SO_PASSPIDFD = 76; // Linux 6.5
    public const int SCM_RIGHTS = 1;
    public const int SCM_CREDENTIALS = 2;
    public const int SCM_PIDFD = 4; // Linux 6.5, with SO_PASSPIDFD

    public const int MSG_DONTWAIT = 0x40;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_CTRUNC = 0x08;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;

    public const int SHUT_WR = 1;

    public const int O_CLOEXEC = 0x80000;
    public const int O_NONBLOCK = 0x800;

    public const int F_GETFD = 1;
    public const int F_SETFD = 2;
    public const int FD_CLOEXEC = 1;

    public const short POLLIN = 0x001;
    public const short POLLOUT = 0x004;
    public const short POLLERR = 0x008;
    public const short POLLHUP = 0x010;

    public const int CLOCK_MONOTONIC = 1;

    /// <summary>PIPE_BUF: a pipe write of at most this much is atomic; the manager's notify buffer too.</summary>
    public const int PipeBuf = 4096;

    /// <summary>SCM_MAX_FD: the kernel's limit of descriptors in one SCM_RIGHTS message.</summary>
    public const int ScmMaxFd = 253;

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct CMsgHdr
    {
        public nuint Length;
        public int Level;
        public int Type;
    }

    /// <summary>struct ucred: what SCM_CREDENTIALS carries.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct UCred
    {
        public int Pid;
        public uint Uid;
        public uint Gid;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TimeSpec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "socketpair", SetLastError = true)]
    public static partial int SocketPair(int domain, int type, int protocol, int* fds);

    [LibraryImport(Lib, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, uint addressLength);

    [LibraryImport(Lib, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, uint addressLength);

    [LibraryImport(Lib, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(Lib, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Lib, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(Lib, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Lib, EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, MsgHdr* message, int flags);

    [LibraryImport(Lib, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint length);

    [LibraryImport(Lib, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, void* value, uint* length);

    /// <summary>An int socket option: 0 and its value, or the errno (EINVAL when the kernel gave no int).</summary>
    public static int GetSockOptInt(int fd, int level, int name, out int value)
    {
        int result = 0;
        uint length = sizeof(int);
        if (GetSockOpt(fd, level, name, &result, &length) < 0)
        {
            value = 0;
            return LastErrno;
        }

        value = result;
        return length == sizeof(int) ? 0 : Errno.EINVAL;
    }

    [LibraryImport(Lib, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, uint* length);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(int* fds, int flags);

    [LibraryImport(Lib, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMilliseconds);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport(Lib, EntryPoint = "getuid")]
    public static partial uint GetUid();

    [LibraryImport(Lib, EntryPoint = "geteuid")]
    public static partial uint GetEUid();

    [LibraryImport(Lib, EntryPoint = "getgid")]
    public static partial uint GetGid();

    [LibraryImport(Lib, EntryPoint = "getegid")]
    public static partial uint GetEGid();

    [LibraryImport(Lib, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, TimeSpec* time);

    /// <summary>errno of the last call made through this class on this thread.</summary>
    public static int LastErrno => Marshal.GetLastPInvokeError();

    /// <summary>CMSG_ALIGN: control messages are aligned to the size of size_t.</summary>
    public static int CMsgAlign(int length) => (length + IntPtr.Size - 1) & ~(IntPtr.Size - 1);

    /// <summary>CMSG_SPACE: room one control message with <paramref name="dataLength"/> bytes takes.</summary>
    public static int CMsgSpace(int dataLength) => CMsgAlign(sizeof(CMsgHdr)) + CMsgAlign(dataLength);

    /// <summary>CMSG_LEN: the cmsg_len value for <paramref name="dataLength"/> bytes of data.</summary>
    public static int CMsgLen(int dataLength) => CMsgAlign(sizeof(CMsgHdr)) + dataLength;

    /// <summary>Microseconds of CLOCK_MONOTONIC, as systemd's now(CLOCK_MONOTONIC) reports them.</summary>
    public static ulong MonotonicMicroseconds()
    {
        TimeSpec now;
        if (ClockGetTime(CLOCK_MONOTONIC, &now) != 0)
        {
            throw new InvalidOperationException(Errno.Describe($"clock_gettime(CLOCK_MONOTONIC) failed", LastErrno));
        }

        return (ulong)now.Seconds * 1_000_000UL + (ulong)now.Nanoseconds / 1000UL;
    }

    /// <summary>Closes <paramref name="fd"/> if it is valid, ignoring errors (cleanup paths only).</summary>
    public static void CloseQuietly(int fd)
    {
        if (fd >= 0)
        {
            _ = Close(fd);
        }
    }
}
