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
internal sealed class ReadinessSocket : IDisposable
{
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
        return new ReadinessSocket(SocketMessage.BindReceiver(address, nonBlocking: true, passPidFd: false, receiveBufferSize: 0, out _), address);
    }

    /// <summary>The next queued datagram, or null when none is queued: the sender's pid and its lines,
    /// read as the manager reads them (a datagram the manager would drop has no lines).</summary>
    public (int Pid, IReadOnlyList<string> Lines)? TryReceive()
    {
        byte[] buffer = new byte[NotifyDatagramReader.BufferSize];
        var fds = new List<int>();
        if (SocketMessage.Receive(_socket.Fd, buffer, fds, out ReceivedDatagram datagram) != 0)
        {
            return null;
        }

        // Descriptors mean nothing here (no fd store): close them, as the manager does for unexpected ones.
        foreach (int fd in fds)
        {
            Libc.CloseQuietly(fd);
        }

        if (datagram.PidFd >= 0)
        {
            Libc.CloseQuietly(datagram.PidFd); // never asked for (no SO_PASSPIDFD), closed all the same
        }

        return (datagram.Pid, NotifyDatagramReader.Lines(buffer, datagram, out _) ?? []);
    }

    public void Dispose() => _socket.Dispose();
}
