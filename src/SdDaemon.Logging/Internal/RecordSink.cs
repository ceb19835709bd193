using System.Diagnostics;
using System.Globalization;
using SdDaemon.Interop;
using SdDaemon.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>Where formatted records go; each <see cref="Write"/> is one record batch, written whole
/// or (when the destination stays full) dropped, never waited for without bound.</summary>
internal abstract class RecordSink
{
    private long _dropped;

    /// <summary>Records (lines) that did not reach the destination whole since this sink was made.</summary>
    public long DroppedRecords => Interlocked.Read(ref _dropped);

    public abstract void Write(ReadOnlySpan<byte> records);

    /// <summary>Counts the records of <paramref name="unwritten"/> (a line cut short counts as dropped).</summary>
    protected void CountDropped(ReadOnlySpan<byte> unwritten)
    {
        if (unwritten.IsEmpty)
        {
            return;
        }

        int lines = unwritten.Count((byte)'\n');
        if (unwritten[^1] != (byte)'\n')
        {
            lines++;
        }

        Interlocked.Add(ref _dropped, lines);
    }
}

/// <summary>
/// A raw file descriptor (fd 2): the record batch under a lock so that threads of this process never
/// interleave, with no managed buffering (nothing is lost when the process dies), and every write
/// bounded by a deadline so that a reader that stopped reading (a full pipe, a journald stream
/// socket nobody drains) cannot hang the logging threads, whatever other writers of the same
/// destination (Console.Error, a child sharing stderr) do meanwhile.
/// </summary>
/// <remarks>
/// <para>The descriptor's O_NONBLOCK flag is never changed: it belongs to the open file description,
/// which is shared with the parent and every other process holding it, and other code owns it. Every
/// write is non-blocking all the same (spec J-6), chosen by what the descriptor is:</para>
/// <list type="bullet">
/// <item>a socket (journald's stream): send(MSG_DONTWAIT | MSG_NOSIGNAL), a per-call flag;</item>
/// <item>a pipe, a FIFO or a terminal: write(2) on a description of our own, opened through
/// <c>/proc/self/fd/N</c> with O_NONBLOCK (a new open file description of the same pipe or tty, whose
/// flags are ours). poll(2) then write(2) on the shared blocking description would not do: another
/// writer can take the room between the two, and the write then blocks until a reader makes room,
/// which was seen to take 40 s. Pieces of at most PIPE_BUF bytes, so a batch up to PIPE_BUF is one
/// atomic write, as before;</item>
/// <item>a regular file, a block device, /dev/null: write(2) on the descriptor itself. Such writes
/// never wait for a reader, and a description of our own would have an offset of its own that
/// overwrites what other writers of the file wrote;</item>
/// <item>a pipe or terminal that cannot be reopened (no /proc, or its owner's permissions after a
/// privilege drop: a pipe is mode 0600): poll(POLLOUT) then PIPE_BUF bytes per write(2), the best
/// that exists without touching the shared flags; with another writer present such a write can
/// block longer than the timeout.</item>
/// </list>
/// <para>The own description is checked before each batch (statx of the descriptor, the same device
/// and inode): when fd 2 was redirected meanwhile (dup2 to a log file, to /dev/null) it is closed and
/// the descriptor looked at again, so records follow the redirection. Until that next batch it keeps
/// the old pipe open; a reader waiting for the pipe's end of file sees it only then.</para>
/// <para>Threads that find another one writing do not each pay a system call (spec J-7): each
/// queues its batch (a copy) and waits for the gate with its own deadline; whichever thread takes the
/// gate next writes every batch queued by then, in queue order, as many whole batches per write(2)
/// as fit in PIPE_BUF (a larger batch alone, as before), so that each record still reaches a pipe's
/// reader whole. A call returns only once its batch is written (or dropped and counted), as a lone
/// call does; a call that gives up waiting takes its batch back out, unless a writer already has it.
/// A lone thread writes straight from its own span, without the copy.</para>
/// <para>When the deadline passes, the rest of the batch is dropped and counted; a record cut short is
/// ended with a newline (now, or before the next batch) so that the next record's <c>&lt;N&gt;</c>
/// starts a line. After a timeout, later writes do not wait again until one gets through whole
/// (<see cref="StallPolicy"/>), so threads queued on the lock do not each wait out their own timeout.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A sink lives as long as its descriptor (fd 2: the process); its queue buffers hold only pool arrays.")]
internal sealed class FileDescriptorSink : RecordSink
{
    /// <summary>The default bound on one record batch (never hang a daemon).</summary>
    public static readonly TimeSpan DefaultTimeout = Deadline.DefaultSendTimeout;

    private readonly object _gate = new();
    private readonly object _queue = new();
    private readonly TimeSpan _timeout;
    private readonly StallPolicy _stall = new();
    private Route _route;
    private FileIdentity _identity;
    private FileDescriptorHandle? _own;
    private bool _lineOpen;
    private Stream? _fallback;

    // Batches of callers that found the gate taken (under _queue), and the ones being written (under
    // _gate); tickets handed out and written (or dropped) so far, so that a caller knows whether the
    // thread before it took its batch along.
    private PooledBuffer _waiting = new();
    private List<int> _waitingEnds = [];
    private PooledBuffer _draining = new();
    private List<int> _drainingEnds = [];
    private long _enqueued;
    private long _completed;

    public FileDescriptorSink(int fd, TimeSpan timeout)
    {
        Fd = fd;
        _timeout = timeout;
    }

    /// <summary>How <see cref="Fd"/> is written (see the remarks on the class).</summary>
    private enum Route
    {
        /// <summary>Not looked at yet, or redirected since.</summary>
        Unknown,

        /// <summary>send(MSG_DONTWAIT) on the descriptor.</summary>
        Socket,

        /// <summary>write(2) on our own O_NONBLOCK description of the same pipe or terminal.</summary>
        OwnNonBlocking,

        /// <summary>write(2) on the descriptor: a file or a device that never waits for a reader.</summary>
        Direct,

        /// <summary>poll then write(2) on the descriptor: a pipe or terminal that could not be reopened.</summary>
        Polled,
    }

    /// <summary>fd 2, shared by every logger of the process, so that they all serialize on one lock.</summary>
    public static FileDescriptorSink StandardError { get; } = new(2, DefaultTimeout);

    public int Fd { get; }

    public override void Write(ReadOnlySpan<byte> records)
    {
        if (records.IsEmpty)
        {
            return;
        }

        if (!OperatingSystem.IsLinux())
        {
            WriteElsewhere(records);
            return;
        }

        long deadline = Deadline.After(_timeout);
        bool taken = false;
        long ticket = 0;
        try
        {
            if (Monitor.TryEnter(_gate))
            {
                taken = true;
                if (Volatile.Read(ref _enqueued) == Volatile.Read(ref _completed))
                {
                    WriteLocked(records, deadline); // nobody waiting: straight from the caller's span
                    return;
                }

                ticket = Enqueue(records); // others came first: after theirs
            }
            else
            {
                ticket = Enqueue(records);
                Monitor.TryEnter(_gate, Deadline.RemainingMilliseconds(deadline), ref taken);
                if (!taken)
                {
                    Withdraw(ticket); // another thread is stuck on a full descriptor
                    return;
                }
            }

            if (Volatile.Read(ref _completed) < ticket)
            {
                DrainLocked(deadline); // the holder before us did not take ours: write what waits
            }
        }
        finally
        {
            if (taken)
            {
                Monitor.Exit(_gate);
            }
        }
    }

    /// <summary>Records batches waiting for the gate, for tests.</summary>
    internal int WaitingBatches
    {
        get
        {
            lock (_queue)
            {
                return _waitingEnds.Count;
            }
        }
    }

    /// <summary>Queues a batch behind the ones already waiting; its ticket (1, 2, ...).</summary>
    private long Enqueue(ReadOnlySpan<byte> records)
    {
        lock (_queue)
        {
            _waiting.Write(records);
            _waitingEnds.Add(_waiting.Length);
            return ++_enqueued;
        }
    }

    /// <summary>A batch whose caller gave up waiting for the gate: taken out (and counted as dropped)
    /// unless a drain already took it, which then wrote or counted it. Its ticket stays, as an empty batch.</summary>
    private void Withdraw(long ticket)
    {
        lock (_queue)
        {
            int index = _waitingEnds.Count - (int)(_enqueued - ticket) - 1;
            if (index < 0)
            {
                return;
            }

            int start = index == 0 ? 0 : _waitingEnds[index - 1];
            int length = _waitingEnds[index] - start;
            CountDropped(_waiting.Written.Slice(start, length));
            Span<byte> bytes = _waiting.Array.AsSpan(0, _waiting.Length);
            bytes[(start + length)..].CopyTo(bytes[start..]);
            _waiting.Truncate(_waiting.Length - length);
            for (int i = index; i < _waitingEnds.Count; i++)
            {
                _waitingEnds[i] -= length;
            }
        }
    }

    /// <summary>Under the gate: takes every waiting batch and writes them in order, as many whole
    /// batches per write(2) as fit in PIPE_BUF (a larger batch alone), so that a pipe's reader and
    /// journald see each record whole however many were written together (spec J-7).</summary>
    private void DrainLocked(long deadline)
    {
        long upTo;
        lock (_queue)
        {
            (_waiting, _draining) = (_draining, _waiting);
            (_waitingEnds, _drainingEnds) = (_drainingEnds, _waitingEnds);
            upTo = _enqueued;
        }

        ReadOnlySpan<byte> all = _draining.Written;
        int start = 0;
        int next = 0;
        while (next < _drainingEnds.Count)
        {
            int end = _drainingEnds[next++];
            while (next < _drainingEnds.Count && _drainingEnds[next] - start <= Libc.PipeBuf)
            {
                end = _drainingEnds[next++];
            }

            if (end > start)
            {
                WriteLocked(all[start..end], deadline);
            }

            start = end;
        }

        _draining.Reset();
        _drainingEnds.Clear();
        Volatile.Write(ref _completed, upTo);
    }

    /// <summary>Elsewhere than Linux (no libc of ours to call): the process's standard error stream,
    /// for fd 2; other descriptors cannot be reached there.</summary>
    private void WriteElsewhere(ReadOnlySpan<byte> records)
    {
        if (Fd != 2)
        {
            CountDropped(records);
            return;
        }

        lock (_gate)
        {
            try
            {
                _fallback ??= Console.OpenStandardError();
                _fallback.Write(records);
                _fallback.Flush();
            }
            catch (IOException)
            {
                CountDropped(records);
            }
        }
    }

    private void WriteLocked(ReadOnlySpan<byte> records, long deadline)
    {
        FollowDescriptor();
        if (_lineOpen)
        {
            // The last batch gave up inside a record: end that line first, or the new <N> would be
            // read as text of the cut record.
            if (WriteBounded("\n"u8, _stall.Limit(deadline)) != 1)
            {
                _stall.TimedOut();
                CountDropped(records);
                return;
            }

            _lineOpen = false;
        }

        int written = WriteBounded(records, _stall.Limit(deadline));
        if (written == records.Length)
        {
            _stall.Delivered();
            return;
        }

        if (written < 0)
        {
            // EPIPE, EBADF...: a logger has nobody to tell; drop the batch.
            CountDropped(records);
            return;
        }

        _stall.TimedOut();
        CountDropped(records[written..]);
        if (written > 0 && records[written - 1] != (byte)'\n')
        {
            // Cut inside a record: end its line now if there is room, else before the next batch.
            _lineOpen = WriteBounded("\n"u8, Stopwatch.GetTimestamp()) != 1;
        }
    }

    /// <summary>Chooses the route on first use, and again when the descriptor is no longer what it
    /// was when the route was chosen (a socket route learns that from ENOTSOCK instead).</summary>
    private void FollowDescriptor()
    {
        if (_route == Route.Socket)
        {
            return;
        }

        if (_route != Route.Unknown)
        {
            if (Libc.FStatx(Fd, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx now) == 0
                && now.FileType == _identity.FileType && now.Identity.SameFile(_identity))
            {
                return;
            }

            Forget();
        }

        if (Libc.FStatx(Fd, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx st) != 0)
        {
            _route = Route.Unknown; // not open: the write reports EBADF, and the next batch looks again
            return;
        }

        _identity = st.Identity;
        int type = _identity.FileType;
        if (type == Libc.S_IFSOCK)
        {
            _route = Route.Socket;
        }
        else if (type == Libc.S_IFIFO || (type == Libc.S_IFCHR && Libc.IsATty(Fd) == 1))
        {
            _route = OpenOwnNonBlocking() ? Route.OwnNonBlocking : Route.Polled;
        }
        else
        {
            _route = Route.Direct;
        }
    }

    /// <summary>open("/proc/self/fd/N", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY): a new open file
    /// description of the same pipe or terminal, kept only if it is the same inode (NOCTTY: a session
    /// leader without a terminal must not acquire this one).</summary>
    private unsafe bool OpenOwnNonBlocking()
    {
        int access = Libc.Fcntl(Fd, Libc.F_GETFL, 0) & Libc.O_ACCMODE;
        if (access is not (Libc.O_WRONLY or Libc.O_RDWR))
        {
            return false; // not open for writing (a pipe's read end): a write must fail, not reach the pipe
        }

        byte* path = stackalloc byte[32];
        "/proc/self/fd/"u8.CopyTo(new Span<byte>(path, 32));
        if (!Fd.TryFormat(new Span<byte>(path + 14, 17), out int digits, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        path[14 + digits] = 0;
        int fd = Libc.Open(path, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC | Libc.O_NOCTTY, 0);
        if (fd < 0)
        {
            return false; // EACCES (not the pipe's owner), ENOENT (no /proc), ENXIO (no reader)...
        }

        var own = new FileDescriptorHandle(fd);
        if (Libc.FStatx(fd, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx reopened) != 0 || !reopened.Identity.SameFile(_identity))
        {
            own.Dispose(); // fd 2 changed between the two looks: the next batch looks again
            return false;
        }

        _own = own;
        return true;
    }

    private void Forget()
    {
        _own?.Dispose();
        _own = null;
        _route = Route.Unknown;
    }

    /// <summary>Writes as much of <paramref name="data"/> as the descriptor takes before
    /// <paramref name="deadline"/> (a deadline already past still writes what fits right now).
    /// The count written, or -1 when the descriptor failed before anything was written.</summary>
    private unsafe int WriteBounded(ReadOnlySpan<byte> data, long deadline)
    {
        fixed (byte* start = data)
        {
            var writer = new RouteWriter(this, start, data.Length, deadline);
            int written = BoundedWrite.Run(ref writer, data.Length, out int errno);
            return written == 0 && errno is not (0 or Errno.EAGAIN) ? -1 : written;
        }
    }

    /// <summary>The system call of each route for <see cref="BoundedWrite"/>.</summary>
    private readonly unsafe struct RouteWriter(FileDescriptorSink sink, byte* data, int length, long deadline) : IBoundedWriter
    {
        public int PollFd => sink._route == Route.OwnNonBlocking ? sink._own!.Fd : sink.Fd;

        /// <summary>Polled: only into room poll has seen, PIPE_BUF at a time (see the remarks: the best
        /// without a description of our own).</summary>
        public bool PollFirst => sink._route == Route.Polled;

        public long Deadline() => deadline;

        public nint Write(int offset)
        {
            int left = length - offset;
            return sink._route switch
            {
                Route.Socket => Libc.Send(sink.Fd, data + offset, (nuint)left, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL),
                Route.OwnNonBlocking => Libc.Write(sink._own!.Fd, data + offset, (nuint)Math.Min(Libc.PipeBuf, left)),
                Route.Polled => Libc.Write(sink.Fd, data + offset, (nuint)Math.Min(Libc.PipeBuf, left)),
                _ => Libc.Write(sink.Fd, data + offset, (nuint)left),
            };
        }

        public bool Recover(int errno, int offset)
        {
            if (errno != Errno.ENOTSOCK || sink._route != Route.Socket)
            {
                return false;
            }

            sink._route = Route.Unknown; // fd 2 was redirected from a socket to something else
            sink.FollowDescriptor();
            return true;
        }
    }
}

/// <summary>A <see cref="Stream"/>: one Write and a Flush per record batch, under a lock.</summary>
internal sealed class StreamSink(Stream stream) : RecordSink
{
    private readonly object _gate = new();

    public override void Write(ReadOnlySpan<byte> records)
    {
        if (records.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            stream.Write(records);
            stream.Flush();
        }
    }
}
