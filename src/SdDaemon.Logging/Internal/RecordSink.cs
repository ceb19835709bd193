using System.Diagnostics;
using SdDaemon.Interop;

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
/// socket nobody drains) cannot hang the logging threads.
/// </summary>
/// <remarks>
/// <para>The descriptor's O_NONBLOCK flag is never changed: it belongs to the open file description,
/// which is shared with the parent and every other process holding it. Instead, a socket is written
/// with send(MSG_DONTWAIT | MSG_NOSIGNAL), and anything else (a pipe, a tty, a file) only after
/// poll(POLLOUT) said there is room, at most PIPE_BUF bytes per write(2), which a pipe with room
/// accepts without blocking. A batch up to PIPE_BUF bytes is still one atomic write.</para>
/// <para>When the deadline passes, the rest of the batch is dropped and counted; a record cut short is
/// ended with a newline (now, or before the next batch) so that the next record's <c>&lt;N&gt;</c>
/// starts a line. After a timeout, later writes do not wait again until one gets through whole, so
/// threads queued on the lock do not each wait out their own timeout.</para>
/// </remarks>
internal sealed class FileDescriptorSink : RecordSink
{
    /// <summary>The default bound on one record batch (never hang a daemon).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>PIPE_BUF on Linux: a pipe that polls writable takes this much without blocking.</summary>
    private const int PipeBuffer = 4096;

    private readonly object _gate = new();
    private readonly TimeSpan _timeout;
    private Kind _kind;
    private bool _lineOpen;
    private bool _stalled;
    private Stream? _fallback;

    public FileDescriptorSink(int fd, TimeSpan timeout)
    {
        Fd = fd;
        _timeout = timeout;
    }

    private enum Kind
    {
        Unknown,
        Socket,
        Other,
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
        try
        {
            Monitor.TryEnter(_gate, Deadline.RemainingMilliseconds(deadline), ref taken);
            if (!taken)
            {
                CountDropped(records); // another thread is stuck on a full descriptor
                return;
            }

            WriteLocked(records, deadline);
        }
        finally
        {
            if (taken)
            {
                Monitor.Exit(_gate);
            }
        }
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
        if (_lineOpen)
        {
            // The last batch gave up inside a record: end that line first, or the new <N> would be
            // read as text of the cut record.
            if (WriteBounded("\n"u8, _stalled ? Stopwatch.GetTimestamp() : deadline) != 1)
            {
                _stalled = true;
                CountDropped(records);
                return;
            }

            _lineOpen = false;
        }

        int written = WriteBounded(records, _stalled ? Stopwatch.GetTimestamp() : deadline);
        if (written == records.Length)
        {
            _stalled = false;
            return;
        }

        if (written < 0)
        {
            // EPIPE, EBADF...: a logger has nobody to tell; drop the batch.
            CountDropped(records);
            return;
        }

        _stalled = true;
        CountDropped(records[written..]);
        if (written > 0 && records[written - 1] != (byte)'\n')
        {
            // Cut inside a record: end its line now if there is room, else before the next batch.
            _lineOpen = WriteBounded("\n"u8, Stopwatch.GetTimestamp()) != 1;
        }
    }

    /// <summary>Writes as much of <paramref name="data"/> as the descriptor takes before
    /// <paramref name="deadline"/> (a deadline already past still writes what fits right now).
    /// The count written, or -1 when the descriptor failed before anything was written.</summary>
    private unsafe int WriteBounded(ReadOnlySpan<byte> data, long deadline)
    {
        fixed (byte* start = data)
        {
            int offset = 0;
            while (offset < data.Length)
            {
                nint n;
                if (_kind != Kind.Other)
                {
                    n = Libc.Send(Fd, start + offset, (nuint)(data.Length - offset), Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
                    if (n < 0 && Libc.LastErrno == Libc.ENOTSOCK)
                    {
                        _kind = Kind.Other;
                        continue;
                    }

                    _kind = Kind.Socket;
                }
                else
                {
                    // Not a socket: write only into room poll has seen, PIPE_BUF at a time.
                    int ready = WaitWritable(deadline);
                    if (ready <= 0)
                    {
                        return ready < 0 && offset == 0 ? -1 : offset;
                    }

                    n = Libc.Write(Fd, start + offset, (nuint)Math.Min(PipeBuffer, data.Length - offset));
                }

                if (n >= 0)
                {
                    offset += (int)n;
                    continue;
                }

                int errno = Libc.LastErrno;
                if (errno == Errno.EINTR)
                {
                    continue;
                }

                if (errno != Errno.EAGAIN)
                {
                    return offset == 0 ? -1 : offset;
                }

                // A full socket (or a pipe someone else filled between poll and write, or made
                // non-blocking): wait for room, boundedly.
                if (WaitWritable(deadline) <= 0)
                {
                    return offset;
                }
            }

            return offset;
        }
    }

    /// <summary>poll(POLLOUT) until <paramref name="deadline"/>: 1 when writable (or in error, which
    /// the write then reports), 0 on timeout, -1 when poll itself failed.</summary>
    private int WaitWritable(long deadline) =>
        Deadline.WaitFor(Fd, Libc.POLLOUT, deadline, out int errno) ? 1 : errno == 0 ? 0 : -1;
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
