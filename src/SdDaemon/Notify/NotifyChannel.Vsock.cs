using SdDaemon.Interop;
using SdDaemon.Notify;

namespace SdDaemon;

// The vsock transport (VMs notifying their host, spec N-4): a socket per message, as in libsystemd,
// connected within SendTimeout; on a connection-oriented socket the end of the message is the end of
// the connection.
public sealed partial class NotifyChannel
{
    /// <summary>Ports below this one are privileged (only root binds them).</summary>
    private const uint PrivilegedPortLimit = 1024;

    private unsafe NotifyResult SendPerMessageSocket(NotifySocketAddress address, Notification notification, bool waitForRoom)
    {
        // QEMU and this kind of host lack AF_VSOCK datagrams (ENODEV): plain "vsock:" falls back to
        // SEQPACKET, then STREAM, as libsystemd does (spec N-4).
        ReadOnlySpan<int> types = address.SocketType == 0 ? [Libc.SOCK_DGRAM, Libc.SOCK_SEQPACKET, Libc.SOCK_STREAM] : [address.SocketType];
        int fd = -1, type = 0, socketError = 0;
        for (int i = 0; fd < 0 && i < types.Length && (i == 0 || Errno.IsNotSupported(socketError) || (type == Libc.SOCK_DGRAM && socketError == Errno.ENODEV)); i++)
        {
            type = types[i];
            fd = Libc.Socket(address.Family, type | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
            socketError = fd < 0 ? Libc.LastErrno : 0;
        }

        if (fd < 0)
        {
            return NotifyResult.Failure(socketError, $"cannot open a socket for NOTIFY_SOCKET '{address.Text}'");
        }

        using var handle = new FileDescriptorHandle(fd);
        long deadline = Deadline.After(_sendTimeout);
        int error = BindPrivilegedVsockPort(fd);
        if (error != 0)
        {
            return NotifyResult.Failure(error, "cannot bind the vsock notify socket to a privileged port");
        }

        ConnectedDatagramSocket.RaiseSendBuffer(fd); // spec N-9
        fixed (byte* sockaddr = address.SockAddr)
        {
            // Connection-oriented types connect first; datagrams are connected too, so that the
            // same send path serves both. Non-blocking, so the handshake is bounded by SendTimeout.
            if (Libc.Connect(fd, sockaddr, (uint)address.SockAddr.Length) != 0)
            {
                error = Libc.LastErrno;
                if (error == Errno.EINPROGRESS)
                {
                    error = Deadline.WaitFor(fd, Libc.POLLOUT, deadline, out int waitError) ? SocketError(fd) : (waitError == 0 ? Errno.ETIMEDOUT : waitError);
                }

                if (error != 0)
                {
                    return NotifyResult.Failure(error, $"cannot connect to NOTIFY_SOCKET '{address.Text}'");
                }
            }
        }

        bool isStream = type == Libc.SOCK_STREAM;
        int errno = Transmit(fd, notification, isStream, waitForRoom);
        if (errno != 0)
        {
            return NotifyResult.Failure(errno, DescribeSendError(errno));
        }

        if (type is Libc.SOCK_STREAM or Libc.SOCK_SEQPACKET)
        {
            // The end of the message is the end of the connection; the receiver closes its side
            // when it has read it, and must send nothing back.
            if (Libc.Shutdown(fd, Libc.SHUT_WR) != 0)
            {
                return NotifyResult.Failure(Libc.LastErrno, "cannot shut down the notify connection");
            }

            if (!Deadline.WaitFor(fd, Libc.POLLIN, deadline, out errno))
            {
                return NotifyResult.Failure(errno == 0 ? Errno.ETIMEDOUT : errno, "the receiver did not close the vsock connection");
            }

            byte c;
            nint n = Libc.Recv(fd, &c, 1, Libc.MSG_NOSIGNAL | Libc.MSG_DONTWAIT);
            if (n < 0)
            {
                return NotifyResult.Failure(Libc.LastErrno, "waiting for the end of the notify connection failed");
            }

            if (n > 0)
            {
                return NotifyResult.Failure(Errno.EPROTO, "the receiver sent data back on the notify connection");
            }
        }

        return NotifyResult.Sent;
    }

    /// <summary>
    /// As libsystemd (vsock_bind_privileged_port): bind to the highest free port below 1024, so that
    /// the host can tell a privileged sender; not being privileged is not an error.
    /// </summary>
    private static unsafe int BindPrivilegedVsockPort(int fd)
    {
        byte* sockaddr = stackalloc byte[NotifySocketAddress.VsockSockAddrLength];
        var address = new Span<byte>(sockaddr, NotifySocketAddress.VsockSockAddrLength);
        address.Clear();
        for (uint port = PrivilegedPortLimit - 1; port > 0; port--)
        {
            NotifySocketAddress.WriteVsockSockAddr(address, NotifySocketAddress.VMADDR_CID_ANY, port);
            if (Libc.Bind(fd, sockaddr, (uint)address.Length) == 0)
            {
                return 0;
            }

            int errno = Libc.LastErrno;
            if (errno != Errno.EADDRINUSE)
            {
                return errno is Errno.EACCES or Errno.EPERM ? 0 : errno;
            }
        }

        return 0;
    }

    private static int SocketError(int fd)
    {
        int failed = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_ERROR, out int error);
        return failed != 0 ? failed : error;
    }
}
