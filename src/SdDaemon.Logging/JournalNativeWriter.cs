using System.Diagnostics;
using System.Runtime.Versioning;
using SdDaemon.Interop;
using SdDaemon.Logging.Internal;

namespace SdDaemon.Logging;

/// <summary>
/// Sends structured entries to journald over its native protocol (spec J-3, J-4;
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd-journald.service.html">systemd-journald.service(8)</see>,
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_journal_print.html">sd_journal_sendv(3)</see>):
/// one datagram per entry to <c>/run/systemd/journal/socket</c>; an entry too large for a datagram
/// (EMSGSIZE, ENOBUFS) is written to a memfd that is sealed against any change and passed as the only
/// content of an empty datagram, as libsystemd does, so entries of many megabytes arrive whole.
/// </summary>
/// <remarks>
/// <para>One socket, created on first use (CLOEXEC), connected to journald and reused from every
/// thread; when journald restarts the writer reconnects once by itself. libsystemd raises the send
/// buffer to 8 MiB; so does this writer (best effort).</para>
/// <para>When journald is not there (its socket missing or refusing), that is remembered for one
/// second: sends in that second return <see cref="JournalSendOutcome.NotListening"/> without a system
/// call, and the next send after it tries to connect again.</para>
/// <para>A send never blocks for ever: when journald's queue stays full for <see cref="SendTimeout"/>
/// the entry fails with EAGAIN. A journald that is alive but not reading is then remembered, as the
/// stderr logger remembers a stalled stderr (one policy for both): later sends do not wait, they go
/// through if there is room at that moment and fail with EAGAIN at once otherwise, until one gets
/// through, after which sends wait up to <see cref="SendTimeout"/> again. So a stuck journald costs
/// one timeout, not one per entry. journald not running is <see cref="JournalSendOutcome.NotListening"/>,
/// never an exception.</para>
/// </remarks>
public sealed class JournalNativeWriter : IDisposable
{
    /// <summary>Where journald listens for native entries.</summary>
    public const string DefaultSocketPath = "/run/systemd/journal/socket";

    /// <summary>How long a failed connect to an absent journald is remembered, so that a machine
    /// without journald pays no socket/connect/close per entry.</summary>
    private static readonly long AbsenceCacheTicks = Stopwatch.Frequency;

    private readonly ConnectedDatagramSocket _socket;
    private readonly ConnectedDatagramSocket.Sender _sendEntry;
    private readonly StallPolicy _stall = new();
    private TimeSpan _sendTimeout = Deadline.DefaultSendTimeout;
    private bool _disposed;
    private int _maxDatagramSize = int.MaxValue;
    private long _absentUntil;
    private int _absentErrno;

    private JournalNativeWriter(string socketPath)
    {
        SocketPath = socketPath;
        _socket = new ConnectedDatagramSocket(UnixSocketAddress.EncodePath(socketPath, nameof(socketPath)));
        _sendEntry = (fd, entry, _) => SendEntry(fd, entry);
    }

    /// <summary>The process-wide writer to journald's socket, <see cref="DefaultSocketPath"/>.</summary>
    public static JournalNativeWriter Default { get; } = new(DefaultSocketPath);

    /// <summary>The socket path entries are sent to.</summary>
    public string SocketPath { get; }

    /// <summary>How long a send waits for room when journald's queue is full. Default 2 seconds. After
    /// a send that waited this long in vain, sends do not wait until one gets through (see the remarks).</summary>
    public TimeSpan SendTimeout
    {
        get => _sendTimeout;
        set => _sendTimeout = Deadline.CheckSendTimeout(value);
    }

    /// <summary>
    /// Entries longer than this many bytes go through a sealed memfd without trying a datagram first.
    /// Default <see cref="int.MaxValue"/>: like libsystemd, try the datagram and fall back to a memfd
    /// when the kernel refuses it (EMSGSIZE, ENOBUFS; the limit is the socket's send buffer, which the
    /// writer raises towards 8 MiB, so it depends on <c>net.core.wmem_max</c>).
    /// </summary>
    public int MaxDatagramSize
    {
        get => _maxDatagramSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _maxDatagramSize = value;
        }
    }

    /// <summary>A writer to another datagram socket (a journald in a container, a test receiver).</summary>
    /// <exception cref="ArgumentException">The path is empty or longer than 107 bytes.</exception>
    public static JournalNativeWriter Create(string socketPath)
    {
        ArgumentNullException.ThrowIfNull(socketPath);
        return new JournalNativeWriter(socketPath);
    }

    /// <summary>Sends <paramref name="entry"/>. See the class remarks for the contract.</summary>
    /// <exception cref="ObjectDisposedException">This writer was disposed.</exception>
    public JournalSendResult Send(JournalEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Send(entry.Encoded);
    }

    /// <summary>Sends an already encoded entry (the native wire format, see <see cref="JournalEntry"/>).</summary>
    /// <exception cref="ObjectDisposedException">This writer was disposed.</exception>
    public JournalSendResult Send(ReadOnlySpan<byte> encodedEntry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!OperatingSystem.IsLinux())
        {
            return JournalSendResult.NotListening;
        }

        // journald not there a moment ago: say so again without a system call.
        if (KnownAbsent)
        {
            return JournalSendResult.Absent(_absentErrno);
        }

        int errno = _socket.Send(encodedEntry, null, _sendEntry, out bool connectFailed);
        if (errno == 0)
        {
            return JournalSendResult.Sent;
        }

        if (!IsAbsent(errno))
        {
            return JournalSendResult.Failure(errno);
        }

        if (connectFailed)
        {
            _absentErrno = errno;
            Volatile.Write(ref _absentUntil, Stopwatch.GetTimestamp() + AbsenceCacheTicks);
        }

        return JournalSendResult.Absent(errno);
    }

    /// <summary>True while journald was found absent less than a second ago: a send would return
    /// NotListening without a system call, so a logger need not build the entry at all.</summary>
    internal bool KnownAbsent => !OperatingSystem.IsLinux() || Stopwatch.GetTimestamp() < Volatile.Read(ref _absentUntil);

    /// <summary>One entry on the connected socket: a datagram, or a sealed memfd when it is too large for one (spec J-4).</summary>
    private unsafe int SendEntry(int fd, ReadOnlySpan<byte> encodedEntry)
    {
        int errno = encodedEntry.Length > _maxDatagramSize ? Errno.EMSGSIZE : SendMessage(fd, encodedEntry, null, 0);
        return errno is Errno.EMSGSIZE or Errno.ENOBUFS && OperatingSystem.IsLinux() ? SendThroughMemfd(fd, encodedEntry) : errno;
    }

    /// <summary>Closes the cached socket. Disposing <see cref="Default"/> is ignored.</summary>
    public void Dispose()
    {
        if (ReferenceEquals(this, Default))
        {
            return;
        }

        _disposed = true;
        _socket.Dispose();
    }

    private static bool IsAbsent(int errno) => errno is Errno.ENOENT or Errno.ECONNREFUSED or Errno.ENOTCONN;

    /// <summary>Spec J-4: the same bytes in a sealed memfd, passed alone in an empty datagram.</summary>
    [SupportedOSPlatform("linux")]
    private unsafe int SendThroughMemfd(int socketFd, ReadOnlySpan<byte> payload)
    {
        byte* name = stackalloc byte[] { (byte)'j', (byte)'o', (byte)'u', (byte)'r', (byte)'n', (byte)'a', (byte)'l', (byte)'-', (byte)'d', (byte)'a', (byte)'t', (byte)'a', 0 };
        int memfd = Libc.MemfdCreate(name, Libc.MFD_ALLOW_SEALING | Libc.MFD_CLOEXEC);
        if (memfd < 0)
        {
            return Libc.LastErrno;
        }

        try
        {
            int errno = Libc.WriteAll(memfd, payload);
            if (errno != 0)
            {
                return errno;
            }

            // journald accepts only a memfd that can never change again: exactly these four seals.
            if (Libc.Fcntl(memfd, Libc.F_ADD_SEALS, Libc.F_SEAL_SEAL | Libc.F_SEAL_SHRINK | Libc.F_SEAL_GROW | Libc.F_SEAL_WRITE) != 0)
            {
                return Libc.LastErrno;
            }

            int space = SocketMessage.RightsSpace(1);
            byte* control = stackalloc byte[space];
            new Span<byte>(control, space).Clear();
            *(int*)SocketMessage.AddControl(control, Libc.SCM_RIGHTS, sizeof(int)) = memfd;
            return SendMessage(socketFd, default, control, space);
        }
        finally
        {
            _ = Libc.Close(memfd); // journald holds its own reference once the datagram is queued
        }
    }

    /// <summary>One datagram, bounded under the stall policy (spec J-5): a full queue is waited for up
    /// to SendTimeout, or not at all while journald is stalled. 0 or the errno.</summary>
    private unsafe int SendMessage(int fd, ReadOnlySpan<byte> payload, byte* control, int controlLength)
    {
        int errno = SocketMessage.Send(fd, payload, control, controlLength, droppableControl: 0, isStream: false, _stall.IsStalled ? TimeSpan.Zero : _sendTimeout);
        if (errno == 0)
        {
            _stall.Delivered();
        }
        else if (errno == Errno.EAGAIN)
        {
            _stall.TimedOut(); // the wait's end: EAGAIN comes back only when the deadline passed
        }

        return errno;
    }
}
