using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// The original process's private notify socket (daemon(7) step 14: a channel made before the
/// first fork): an abstract-namespace AF_UNIX datagram socket with SO_PASSCRED, whose name goes to
/// the later stages as NOTIFY_SOCKET. So the daemon reports READY=1, STATUS=, ERRNO= and
/// EXTEND_TIMEOUT_USEC= with the same <see cref="Notification.Send"/> call it makes under systemd,
/// and the kernel vouches for the sender's pid. Abstract, so that neither a chroot nor a
/// privilege drop keeps the daemon from reaching it.
/// </summary>
internal sealed unsafe class ReadinessSocket : IDisposable
{
    private const int MaxMessageBytes = 4096;

    private readonly FileDescriptorHandle _socket;

    private ReadinessSocket(FileDescriptorHandle socket, string address)
    {
        _socket = socket;
        Address = address;
    }

    /// <summary>The NOTIFY_SOCKET value: <c>@sddaemon/...</c>.</summary>
    public string Address { get; }

    public int Fd => _socket.Fd;

    public static ReadinessSocket Bind()
    {
        string address = "@sddaemon/" + StageMarker.NewToken();
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (fd < 0)
        {
            throw new IOException($"socket(AF_UNIX, SOCK_DGRAM) failed: errno {Libc.LastErrno}");
        }

        var handle = new FileDescriptorHandle(fd);
        int one = 1;
        byte[] name = Encoding.ASCII.GetBytes(address);
        byte* sockaddr = stackalloc byte[2 + name.Length];
        *(ushort*)sockaddr = Libc.AF_UNIX;
        name.CopyTo(new Span<byte>(sockaddr + 2, name.Length));
        sockaddr[2] = 0; // '@' -> NUL: the abstract namespace, length without a trailing NUL
        if (Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_PASSCRED, &one, sizeof(int)) != 0
            || Libc.Bind(fd, sockaddr, (uint)(2 + name.Length)) != 0)
        {
            int errno = Libc.LastErrno;
            handle.Dispose();
            throw new IOException($"cannot bind the readiness socket: errno {errno}");
        }

        return new ReadinessSocket(handle, address);
    }

    /// <summary>The next queued datagram, or null when none is queued: sender pid and its lines (split as the manager does).</summary>
    public (int Pid, IReadOnlyList<string> Lines)? TryReceive()
    {
        byte[] buffer = new byte[MaxMessageBytes + 1];
        int controlLength = Libc.CMsgSpace(sizeof(Libc.UCred)) + Libc.CMsgSpace(sizeof(int) * Libc.ScmMaxFd);
        byte* control = stackalloc byte[controlLength];
        new Span<byte>(control, controlLength).Clear();
        nint received;
        Libc.MsgHdr header = default;
        fixed (byte* start = buffer)
        {
            Libc.IoVec iov = new() { Base = start, Length = (nuint)buffer.Length };
            header.Iov = &iov;
            header.IovLength = 1;
            header.Control = control;
            header.ControlLength = (nuint)controlLength;
            do
            {
                received = Libc.RecvMsg(_socket.Fd, &header, Libc.MSG_CMSG_CLOEXEC | Libc.MSG_DONTWAIT | Libc.MSG_TRUNC);
            }
            while (received < 0 && Libc.LastErrno == Errno.EINTR);
        }

        if (received < 0)
        {
            return null;
        }

        int pid = 0;
        int alignedHeader = Libc.CMsgAlign(sizeof(Libc.CMsgHdr));
        for (int offset = 0; offset + alignedHeader <= (int)header.ControlLength;)
        {
            var cmsg = (Libc.CMsgHdr*)(control + offset);
            int length = (int)cmsg->Length;
            if (length < alignedHeader)
            {
                break;
            }

            if (cmsg->Level == Libc.SOL_SOCKET && cmsg->Type == Libc.SCM_CREDENTIALS)
            {
                pid = ((Libc.UCred*)(control + offset + alignedHeader))->Pid;
            }
            else if (cmsg->Level == Libc.SOL_SOCKET && cmsg->Type == Libc.SCM_RIGHTS)
            {
                // Descriptors mean nothing here (no fd store): close them, as the manager does for unexpected ones.
                int count = (length - alignedHeader) / sizeof(int);
                for (int i = 0; i < count; i++)
                {
                    Libc.CloseQuietly(((int*)(control + offset + alignedHeader))[i]);
                }
            }

            offset += Libc.CMsgAlign(length);
        }

        if (received > MaxMessageBytes)
        {
            return (pid, []);
        }

        return (pid, Split(Encoding.UTF8.GetString(buffer, 0, (int)received)));
    }

    /// <summary>Lines as the manager splits them: on \n and \r, empty ones skipped.</summary>
    internal static IReadOnlyList<string> Split(string text) =>
        text.TrimEnd('\0').Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The first <c>KEY=</c> value (the manager's rule, spec N-8).</summary>
    internal static string? Get(IReadOnlyList<string> lines, string key)
    {
        foreach (string line in lines)
        {
            if (line.Length > key.Length && line[key.Length] == '=' && line.StartsWith(key, StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..];
            }
        }

        return null;
    }

    public void Dispose() => _socket.Dispose();
}
