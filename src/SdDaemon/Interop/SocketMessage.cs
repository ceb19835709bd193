using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// The one socket-message layer: sendmsg with ancillary data (SCM_RIGHTS, SCM_CREDENTIALS) for the
/// notify channel and the journal writer, recvmsg with its parsing (SCM_RIGHTS, SCM_CREDENTIALS,
/// SCM_PIDFD) and the receiver's bind for the daemonization launcher and SdDaemon.Testing. The wire
/// formats above it (notify lines, journal fields) stay with their protocols.
/// </summary>
internal static unsafe class SocketMessage
{
    /// <summary>Room for SCM_RIGHTS with <paramref name="fileCount"/> descriptors (none for 0).</summary>
    public static int RightsSpace(int fileCount) => fileCount > 0 ? Libc.CMsgSpace(sizeof(int) * fileCount) : 0;

    /// <summary>Room for SCM_CREDENTIALS.</summary>
    public static int CredentialsSpace => Libc.CMsgSpace(sizeof(Libc.UCred));

    /// <summary>Writes a SOL_SOCKET control message header (SCM_RIGHTS, SCM_CREDENTIALS) for
    /// <paramref name="dataLength"/> bytes at <paramref name="at"/>; returns where its data goes.</summary>
    public static byte* AddControl(byte* at, int type, int dataLength)
    {
        var header = (Libc.CMsgHdr*)at;
        header->Length = (nuint)Libc.CMsgLen(dataLength);
        header->Level = Libc.SOL_SOCKET;
        header->Type = type;
        return at + Libc.CMsgAlign(sizeof(Libc.CMsgHdr));
    }

    /// <summary>
    /// sendmsg (MSG_NOSIGNAL, MSG_DONTWAIT) of <paramref name="payload"/> with its control data, bounded
    /// (<see cref="BoundedWrite"/>: a full queue is waited for up to <paramref name="timeout"/>, then
    /// EAGAIN). A datagram goes whole or fails with EIO; the rest of a partial stream send follows
    /// without the control data. The last <paramref name="droppableControl"/> bytes of it (explicit
    /// credentials, spec N-10) are dropped once when the kernel refuses the first send. 0 or the errno.
    /// </summary>
    public static int Send(int fd, ReadOnlySpan<byte> payload, byte* control, int controlLength, int droppableControl, bool isStream, TimeSpan timeout)
    {
        fixed (byte* bytes = payload)
        {
            Libc.IoVec iov;
            Libc.MsgHdr message = default;
            message.Iov = &iov;
            message.IovLength = 1;
            message.Control = controlLength > 0 ? control : null;
            message.ControlLength = (nuint)controlLength;
            var writer = new MessageWriter(fd, &message, bytes, payload.Length, isStream, droppableControl, timeout);
            BoundedWrite.Run(ref writer, payload.Length, out int errno);
            return errno;
        }
    }

    /// <summary>
    /// Receives one queued datagram without waiting, EINTR retried: 0, or the errno (EAGAIN: nothing
    /// queued). Descriptors (CLOEXEC) are appended to <paramref name="fds"/> and the sender's pidfd
    /// (SCM_PIDFD) is in <see cref="ReceivedDatagram.PidFd"/>: the caller owns them.
    /// </summary>
    public static int Receive(int fd, Span<byte> buffer, List<int> fds, out ReceivedDatagram datagram)
    {
        datagram = default;
        int controlLength = CredentialsSpace + Libc.CMsgSpace(sizeof(int)) /* SCM_PIDFD */ + RightsSpace(Libc.ScmMaxFd);
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
                received = Libc.RecvMsg(fd, &header, Libc.MSG_CMSG_CLOEXEC | Libc.MSG_TRUNC | Libc.MSG_DONTWAIT);
            }
            while (received < 0 && Libc.LastErrno == Errno.EINTR);
        }

        if (received < 0)
        {
            return Libc.LastErrno;
        }

        int pid = 0, pidFd = -1;
        uint uid = uint.MaxValue, gid = uint.MaxValue;
        int alignedHeader = Libc.CMsgAlign(sizeof(Libc.CMsgHdr));
        for (int offset = 0; offset + alignedHeader <= (int)header.ControlLength;)
        {
            var cmsg = (Libc.CMsgHdr*)(control + offset);
            int length = (int)cmsg->Length;
            if (length < alignedHeader)
            {
                break;
            }

            byte* data = control + offset + alignedHeader;
            if (cmsg->Level == Libc.SOL_SOCKET && cmsg->Type == Libc.SCM_RIGHTS)
            {
                int count = (length - alignedHeader) / sizeof(int);
                for (int i = 0; i < count; i++)
                {
                    fds.Add(((int*)data)[i]);
                }
            }
            else if (cmsg->Level == Libc.SOL_SOCKET && cmsg->Type == Libc.SCM_PIDFD && length >= alignedHeader + sizeof(int))
            {
                pidFd = *(int*)data;
            }
            else if (cmsg->Level == Libc.SOL_SOCKET && cmsg->Type == Libc.SCM_CREDENTIALS)
            {
                var credentials = (Libc.UCred*)data;
                (pid, uid, gid) = (credentials->Pid, credentials->Uid, credentials->Gid);
            }

            offset += Libc.CMsgAlign(length);
        }

        datagram = new ReceivedDatagram((int)received, pid, uid, gid, header.Flags) { PidFd = pidFd };
        return 0;
    }

    /// <summary>
    /// An AF_UNIX datagram socket bound at <paramref name="address"/> (a path or <c>@abstract</c>) as the
    /// manager binds its notify socket: CLOEXEC, SO_PASSCRED, SO_PASSPIDFD when asked and the kernel has
    /// it (Linux 6.5+, <paramref name="passesPidFd"/>), SO_RCVBUF when not 0 (best effort).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="address"/> is not a valid AF_UNIX address.</exception>
    /// <exception cref="IOException">socket, setsockopt(SO_PASSCRED) or bind failed.</exception>
    public static FileDescriptorHandle BindReceiver(string address, bool nonBlocking, bool passPidFd, int receiveBufferSize, out bool passesPidFd)
    {
        byte[] sockaddr = UnixSocketAddress.Encode(address);
        int one = 1, fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | (nonBlocking ? Libc.SOCK_NONBLOCK : 0), 0);
        if (fd < 0)
        {
            throw new IOException(Errno.Describe("socket(AF_UNIX, SOCK_DGRAM) failed", Libc.LastErrno));
        }

        var handle = new FileDescriptorHandle(fd);
        if (Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_PASSCRED, &one, sizeof(int)) != 0)
        {
            int errno = Libc.LastErrno;
            handle.Dispose();
            throw new IOException(Errno.Describe("setsockopt(SO_PASSCRED) failed", errno));
        }

        passesPidFd = passPidFd && Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_PASSPIDFD, &one, sizeof(int)) == 0;
        if (receiveBufferSize > 0)
        {
            _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, &receiveBufferSize, sizeof(int));
        }

        fixed (byte* name = sockaddr)
        {
            if (Libc.Bind(fd, name, (uint)sockaddr.Length) != 0)
            {
                int errno = Libc.LastErrno;
                handle.Dispose();
                throw new IOException(Errno.Describe($"bind('{address}') failed", errno));
            }
        }

        return handle;
    }

    /// <summary>sendmsg of one prepared message for <see cref="BoundedWrite"/>.</summary>
    private struct MessageWriter(int fd, Libc.MsgHdr* message, byte* payload, int length, bool isStream, int droppableControl, TimeSpan timeout)
        : IBoundedWriter
    {
        public readonly int PollFd => fd; // connected: POLLOUT also reflects room in the peer's receive queue

        public readonly bool PollFirst => false;

        public readonly long Deadline() => Interop.Deadline.After(timeout);

        public nint Write(int offset)
        {
            message->Iov->Base = payload + offset;
            message->Iov->Length = (nuint)(length - offset);
            nint n = Libc.SendMsg(fd, message, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            if (n < 0)
            {
                return n;
            }

            if (!isStream && n != length)
            {
                droppableControl = 0;
                Marshal.SetLastPInvokeError(Errno.EIO); // a datagram goes whole or not at all
                return -1;
            }

            // Descriptors and credentials go with the first part only.
            message->Control = null;
            message->ControlLength = 0;
            return n;
        }

        public bool Recover(int errno, int offset)
        {
            if (droppableControl == 0 || offset > 0)
            {
                return false;
            }

            // The kernel refused our explicit credentials (no privilege for that pid, a pid in
            // another namespace): once more with its own, keeping the rest (spec N-10).
            message->ControlLength -= (nuint)droppableControl;
            if (message->ControlLength == 0)
            {
                message->Control = null;
            }

            droppableControl = 0;
            return true;
        }
    }
}

/// <summary>What <see cref="SocketMessage.Receive"/> got: the datagram's full length (it may exceed the
/// buffer), the sender's credentials (pid 0, uid/gid <see cref="uint.MaxValue"/> when none came),
/// recvmsg's flags (MSG_TRUNC, MSG_CTRUNC) and the sender's pidfd.</summary>
internal readonly record struct ReceivedDatagram(int Length, int Pid, uint Uid, uint Gid, int Flags)
{
    /// <summary>The sender's pidfd from SCM_PIDFD (owned by the caller), or -1.</summary>
    public int PidFd { get; init; } = -1;
}
