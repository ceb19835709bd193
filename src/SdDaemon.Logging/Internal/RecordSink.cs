using System.Diagnostics;
using SdDaemon.Interop;

namespace SdDaemon.Logging.Internal;

/// <summary>Where formatted records go; each <see cref="Write"/> is one record batch, written whole.</summary>
internal abstract class RecordSink
{
    public abstract void Write(ReadOnlySpan<byte> records);
}

/// <summary>
/// A raw file descriptor (fd 2): one write(2) per record batch, under a lock so that threads of this
/// process never interleave, and one syscall so that other processes writing to the same pipe or
/// socket do not cut into a line. No managed buffering: nothing is lost when the process dies.
/// </summary>
internal sealed class FileDescriptorSink(int fd) : RecordSink
{
    /// <summary>A non-blocking stderr that stays full is given up on after this long (never hang a daemon).</summary>
    private static readonly long FullTimeout = Stopwatch.Frequency * 2;

    private readonly object _gate = new();

    /// <summary>fd 2, shared by every logger of the process, so that they all serialize on one lock.</summary>
    public static FileDescriptorSink StandardError { get; } = new(2);

    public int Fd { get; } = fd;

    public override unsafe void Write(ReadOnlySpan<byte> records)
    {
        if (records.IsEmpty || !OperatingSystem.IsLinux())
        {
            return;
        }

        lock (_gate)
        {
            fixed (byte* start = records)
            {
                int offset = 0;
                long deadline = 0;
                while (offset < records.Length)
                {
                    nint n = Libc.Write(Fd, start + offset, (nuint)(records.Length - offset));
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

                    if (errno == Errno.EAGAIN)
                    {
                        // Someone made our stderr non-blocking and its reader is slow: wait, boundedly.
                        if (deadline == 0)
                        {
                            deadline = Stopwatch.GetTimestamp() + FullTimeout;
                        }

                        long left = deadline - Stopwatch.GetTimestamp();
                        if (left <= 0)
                        {
                            return;
                        }

                        Libc.PollFd poll = new() { Fd = Fd, Events = Libc.POLLOUT };
                        _ = Libc.Poll(&poll, 1, (int)Math.Max(1, left * 1000 / Stopwatch.Frequency));
                        continue;
                    }

                    return; // EPIPE, EBADF...: a logger has nobody to tell; drop the record.
                }
            }
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
