namespace SdDaemon.Interop;

/// <summary>
/// An AF_UNIX datagram socket connected on first use and shared by every thread: the notify
/// channel's socket to the manager and the journal writer's to journald. When the peer went away
/// (it closed or re-created its socket: a restarted manager or journald) a send connects again,
/// once. The one place for that logic; the senders keep their wire formats.
/// </summary>
internal sealed class ConnectedDatagramSocket : IDisposable
{
    /// <summary>libsystemd raises SO_SNDBUF to 8 MiB for both protocols (best effort): large
    /// datagrams and bursts then fit.</summary>
    public const int SendBufferSize = 8 * 1024 * 1024;

    private readonly object _gate = new();
    private readonly byte[] _sockaddr;
    private FileDescriptorHandle? _socket;
    private bool _disposed;

    /// <param name="sockaddr">The peer's struct sockaddr_un, as connect(2) takes it.</param>
    public ConnectedDatagramSocket(byte[] sockaddr) => _sockaddr = sockaddr;

    /// <summary>Sends on a connected descriptor: 0 or the errno.</summary>
    public delegate int Sender(int fd, ReadOnlySpan<byte> payload, object? state);

    /// <summary>After a send failed with this errno, the peer is gone and a new connection may reach its successor.</summary>
    public static bool IsPeerGone(int errno) =>
        errno is Errno.ECONNREFUSED or Errno.ENOTCONN or Errno.ECONNRESET or Errno.EDESTADDRREQ or Errno.EPIPE;

    /// <summary>
    /// Runs <paramref name="send"/> on the socket, which is kept open meanwhile, connecting first if
    /// need be; when the peer is gone, connects again and sends once more. 0, or the errno, with
    /// <paramref name="connectFailed"/> telling a failed socket/connect from a failed send.
    /// </summary>
    public int Send(ReadOnlySpan<byte> payload, object? state, Sender send, out bool connectFailed)
    {
        for (int attempt = 0; ; attempt++)
        {
            FileDescriptorHandle? socket = Get(out int errno);
            connectFailed = socket is null;
            if (socket is null)
            {
                return errno;
            }

            bool added = false;
            try
            {
                socket.DangerousAddRef(ref added);
                errno = send(socket.Fd, payload, state);
            }
            catch (ObjectDisposedException) when (!added)
            {
                errno = Errno.ENOTCONN; // replaced by another thread between Get and here
            }
            finally
            {
                if (added)
                {
                    socket.DangerousRelease();
                }
            }

            if (errno == 0 || !IsPeerGone(errno))
            {
                return errno;
            }

            Invalidate(socket);
            if (attempt > 0)
            {
                return errno; // a second failure is real
            }
        }
    }

    /// <summary>Closes the socket (after any send still using it); later sends fail with ENOTCONN.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _socket?.Dispose();
            _socket = null;
        }
    }

    private FileDescriptorHandle? Get(out int errno)
    {
        errno = 0;
        FileDescriptorHandle? socket = Volatile.Read(ref _socket);
        if (socket is not null)
        {
            return socket;
        }

        lock (_gate)
        {
            if (_socket is not null)
            {
                return _socket;
            }

            if (_disposed)
            {
                errno = Errno.ENOTCONN;
                return null;
            }

            socket = Connect(out errno);
            Volatile.Write(ref _socket, socket);
            return socket;
        }
    }

    private void Invalidate(FileDescriptorHandle socket)
    {
        lock (_gate)
        {
            if (ReferenceEquals(_socket, socket))
            {
                _socket = null;
            }
        }

        socket.Dispose();
    }

    /// <summary>SO_SNDBUF towards <see cref="SendBufferSize"/>, best effort as in libsystemd (capped by net.core.wmem_max).</summary>
    public static unsafe void RaiseSendBuffer(int fd)
    {
        int size = SendBufferSize;
        _ = Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, &size, sizeof(int));
    }

    /// <summary>socket(AF_UNIX, SOCK_DGRAM), CLOEXEC and non-blocking (every send is bounded), with the large send buffer, connected.</summary>
    private unsafe FileDescriptorHandle? Connect(out int errno)
    {
        int fd = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (fd < 0)
        {
            errno = Libc.LastErrno;
            return null;
        }

        var handle = new FileDescriptorHandle(fd);
        RaiseSendBuffer(fd);
        fixed (byte* sockaddr = _sockaddr)
        {
            if (Libc.Connect(fd, sockaddr, (uint)_sockaddr.Length) != 0)
            {
                errno = Libc.LastErrno;
                handle.Dispose();
                return null;
            }
        }

        errno = 0;
        return handle;
    }
}
