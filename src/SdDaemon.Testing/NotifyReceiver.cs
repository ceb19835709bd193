using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Interop;

namespace SdDaemon.Testing;

/// <summary>
/// The service manager's end of the notify protocol, for tests and local runs: binds an AF_UNIX
/// datagram socket with SO_PASSCRED and, where the kernel has it (Linux 6.5+), SO_PASSPIDFD, as
/// systemd 257+ does; gives the <see cref="NotifySocket"/> value to put in a child's environment, and
/// receives each datagram with the sender's credentials, pidfd and descriptors, read as systemd 262
/// reads it and dropped where it drops it (<see cref="NotifyMessage"/>, spec N-18). Like the manager, it closes the
/// descriptor of a <c>BARRIER=1</c> message as soon as it receives it (<see cref="AcknowledgeBarriers"/>).
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class NotifyReceiver : IDisposable
{
    private readonly FileDescriptorHandle _socket;
    private readonly string? _pathToDelete;
    private readonly List<NotifyMessage> _history = [];

    private NotifyReceiver(FileDescriptorHandle socket, string notifySocket, string? pathToDelete)
    {
        _socket = socket;
        NotifySocket = notifySocket;
        _pathToDelete = pathToDelete;
    }

    /// <summary>True when the receiver was bound with <c>passPidFd: true</c> and the kernel accepted SO_PASSPIDFD
    /// (Linux 6.5+): every message then carries the sender's pidfd in <see cref="NotifyMessage.SenderPidFd"/>.</summary>
    public bool PassesPidFd { get; private init; }

    /// <summary>The value for a child's NOTIFY_SOCKET: the socket's path, or <c>@name</c> for an abstract one.</summary>
    public string NotifySocket { get; }

    /// <summary>Close the descriptors of each <c>BARRIER=1</c> message (and of each message the manager would
    /// drop) on receipt, as the manager does. Default true.</summary>
    public bool AcknowledgeBarriers { get; set; } = true;

    /// <summary>Every message received so far, in order.</summary>
    public IReadOnlyList<NotifyMessage> History
    {
        get
        {
            lock (_history)
            {
                return _history.ToArray();
            }
        }
    }

    /// <summary>
    /// Binds a receiver at <paramref name="path"/> (an absolute path, or <c>@name</c> for the abstract
    /// namespace). With no path, a fresh socket file in a new private temporary directory.
    /// </summary>
    /// <param name="path">Where to bind; null for a fresh private path.</param>
    /// <param name="passPidFd">Ask for the sender's pidfd with every message, as systemd 256+ does (SO_PASSPIDFD,
    /// Linux 6.5+). Off by default: each message (and <see cref="History"/> keeps them all) then holds a
    /// descriptor until it is disposed.</param>
    /// <exception cref="IOException">socket() or bind() failed.</exception>
    public static NotifyReceiver Bind(string? path = null, bool passPidFd = false)
    {
        string? directory = null;
        if (path is null)
        {
            directory = Directory.CreateTempSubdirectory("sdnotify-").FullName;
            path = Path.Combine(directory, "notify");
        }

        // Like the manager: credentials on every message, a pidfd where asked and the kernel can, a large queue.
        FileDescriptorHandle handle = SocketMessage.BindReceiver(path, nonBlocking: false, passPidFd, ConnectedDatagramSocket.SendBufferSize, out bool passesPidFd);
        return new NotifyReceiver(handle, path, path.StartsWith('@') ? null : directory ?? path) { PassesPidFd = passesPidFd };
    }

    /// <summary>Binds a receiver in the abstract namespace under a fresh unique name.</summary>
    public static NotifyReceiver BindAbstract() => Bind("@sdnotify-" + Guid.NewGuid().ToString("N"));

    /// <summary>Receives the next datagram, waiting at most <paramref name="timeout"/>; null on timeout.</summary>
    public NotifyMessage? Receive(TimeSpan timeout)
    {
        using (var reference = HandleReference.Add(_socket))
        {
            int fd = reference.Fd;
            if (!Deadline.WaitFor(fd, Libc.POLLIN, Deadline.After(timeout), out int errno))
            {
                return errno == 0 ? null : throw new IOException($"poll failed: errno {errno}");
            }

            NotifyMessage message = ReceiveOne(fd);
            lock (_history)
            {
                _history.Add(message);
            }

            return message;
        }
    }

    /// <summary>
    /// Receives until a message has a line <c>KEY=VALUE</c> (or any <c>KEY=</c> when
    /// <paramref name="value"/> is null) and returns it; other messages stay in <see cref="History"/>.
    /// </summary>
    /// <exception cref="TimeoutException">No such message within <paramref name="timeout"/>.</exception>
    public NotifyMessage WaitFor(string key, string? value, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(key);
        DateTime end = DateTime.UtcNow + timeout;
        while (true)
        {
            TimeSpan left = end - DateTime.UtcNow;
            NotifyMessage? message = left > TimeSpan.Zero ? Receive(left) : null;
            if (message is null)
            {
                throw new TimeoutException($"No {key}={value ?? "*"} on {NotifySocket} within {timeout}; received: [{string.Join(" | ", History.Select(m => m.Text))}]");
            }

            string? got = message.Get(key);
            if (got is not null && (value is null || got == value))
            {
                return message;
            }
        }
    }

    /// <summary>Closes the socket and removes its file.</summary>
    public void Dispose()
    {
        _socket.Dispose();
        lock (_history)
        {
            foreach (NotifyMessage message in _history)
            {
                message.Dispose();
            }
        }

        if (_pathToDelete is not null)
        {
            try
            {
                if (Directory.Exists(_pathToDelete))
                {
                    Directory.Delete(_pathToDelete, recursive: true);
                }
                else
                {
                    File.Delete(_pathToDelete);
                }
            }
            catch (IOException)
            {
                // best effort: a temporary file
            }
        }
    }

    private NotifyMessage ReceiveOne(int fd)
    {
        byte[] buffer = new byte[NotifyDatagramReader.BufferSize];
        var fds = new List<int>();
        int errno = SocketMessage.Receive(fd, buffer, fds, out ReceivedDatagram datagram);
        if (errno != 0)
        {
            throw new IOException($"recvmsg failed: errno {errno}");
        }

        var files = fds.ConvertAll(received => new SafeFileHandle(received, ownsHandle: true));
        IReadOnlyList<string>? lines = NotifyDatagramReader.Lines(buffer, datagram, out string? dropReason);
        int size = datagram.Length;
        byte[] data = buffer.AsSpan(0, Math.Min(size, buffer.Length)).ToArray();
        lines ??= [];
        if (AcknowledgeBarriers && (lines.Contains("BARRIER=1") || (dropReason is not null && files.Count > 0)))
        {
            foreach (SafeFileHandle file in files)
            {
                file.Dispose();
            }

            files.Clear();
        }

        SafeFileHandle? pidFd = datagram.PidFd >= 0 ? new SafeFileHandle(datagram.PidFd, ownsHandle: true) : null;
        return new NotifyMessage(data, datagram.Pid, datagram.Uid, datagram.Gid, files, dropReason, lines) { SenderPidFd = pidFd };
    }
}
