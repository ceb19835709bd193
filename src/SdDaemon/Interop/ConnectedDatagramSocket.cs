namespace SdDaemon.Interop;

/// <summary>
/// An AF_UNIX datagram socket connected on first use and shared by every thread: the notify
/// channel's socket to the manager and the journal writer's to journald. When the peer went away
/// (it closed or re-created its socket: a restarted manager or journald) a send connects again,
/// once. The one place for that logic; the senders keep their wire formats.
/// </summary>
/// <remarks>
/// A peer that re-creates its socket while the old one stays open (a new manager bound at the same
/// path before the old one closed) is not "gone": sends would keep reaching the old socket, and be
/// lost when it closes. With a path re-check interval, the path's inode is compared, at most once per
/// interval, with the one connected to; a different inode means a new socket was bound there, and the
/// next send connects to it (spec N-15). libsystemd, with a socket per message, follows the path on
/// every message; this is the same rule, delayed by at most the interval.
/// </remarks>
internal sealed class ConnectedDatagramSocket : IDisposable
{
    /// <summary>libsystemd raises SO_SNDBUF to 8 MiB for both protocols (best effort): large
    /// datagrams and bursts then fit.</summary>
    public const int SendBufferSize = 8 * 1024 * 1024;

    private readonly object _gate = new();
    private readonly byte[] _sockaddr;
    private readonly long _pathRecheckMilliseconds;
    private FileDescriptorHandle? _socket;
    private FileIdentity _connectedPath; // the path's inode, read just before the socket connected
    private bool _connectedPathKnown;
    private long _pathCheckedAt;
    private bool _disposed;

    /// <param name="sockaddr">The peer's struct sockaddr_un, as connect(2) takes it.</param>
    /// <param name="pathRecheckInterval">For a filesystem path: how often to check whether a new socket
    /// was bound at the path (see the remarks); null never checks (the peer's going away is still
    /// followed). Abstract names have no inode and are not checked.</param>
    public ConnectedDatagramSocket(byte[] sockaddr, TimeSpan? pathRecheckInterval = null)
    {
        _sockaddr = sockaddr;
        bool isPath = sockaddr.Length > 2 && sockaddr[2] != 0;
        _pathRecheckMilliseconds = isPath && pathRecheckInterval is { } interval ? Math.Max(0, (long)interval.TotalMilliseconds) : -1;
    }

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

            if (!HandleReference.TryAdd(socket, out HandleReference reference))
            {
                errno = Errno.ENOTCONN; // replaced by another thread between Get and here
            }
            else
            {
                using (reference)
                {
                    errno = send(reference.Fd, payload, state);
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
        if (socket is not null && !PathRecheckDue())
        {
            return socket;
        }

        lock (_gate)
        {
            if (_socket is not null && PathRecheckDue())
            {
                FollowRebind();
            }

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

    private bool PathRecheckDue() =>
        _pathRecheckMilliseconds >= 0
        && System.Environment.TickCount64 - Volatile.Read(ref _pathCheckedAt) >= _pathRecheckMilliseconds;

    /// <summary>Under the gate, with a socket: drops it when another inode is bound at the path now, so
    /// that the caller connects to that one. A path that is missing or unreadable keeps the connection:
    /// between unlink and bind the old socket is the only one, and it still works.</summary>
    private unsafe void FollowRebind()
    {
        Volatile.Write(ref _pathCheckedAt, System.Environment.TickCount64);
        if (!StatPath(out FileIdentity now) || (_connectedPathKnown && now.SameFile(_connectedPath)))
        {
            return;
        }

        FileDescriptorHandle old = _socket!;
        _socket = null;
        old.Dispose(); // a sender still using it holds a reference; the fd closes after it
    }

    /// <summary>statx of sun_path (NUL-terminated inside the sockaddr, after the 2-byte family).</summary>
    private unsafe bool StatPath(out FileIdentity result)
    {
        fixed (byte* sockaddr = _sockaddr)
        {
            bool ok = Libc.StatxRaw(Libc.AT_FDCWD, sockaddr + 2, 0, Libc.STATX_INO, out Libc.Statx buffer) == 0;
            result = buffer.Identity;
            return ok;
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
        if (_pathRecheckMilliseconds >= 0)
        {
            // Before connect: a socket bound after this stat is then seen as new at the next check
            // (one reconnect too many at worst); after connect it could be taken for the one we reach.
            _connectedPathKnown = StatPath(out _connectedPath);
            Volatile.Write(ref _pathCheckedAt, System.Environment.TickCount64);
        }

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
