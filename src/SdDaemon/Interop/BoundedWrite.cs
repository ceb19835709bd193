namespace SdDaemon.Interop;

/// <summary>One writer of <see cref="BoundedWrite.Run"/>: its system call, where to wait for room, and until when.</summary>
internal interface IBoundedWriter
{
    /// <summary>The descriptor whose room poll(2) waits for.</summary>
    int PollFd { get; }

    /// <summary>True when the descriptor blocks (and its shared flags are not ours to change): every
    /// call then goes only into room poll has just seen.</summary>
    bool PollFirst { get; }

    /// <summary>The Stopwatch deadline, asked for at the first wait only (a write that never waits reads no clock).</summary>
    long Deadline();

    /// <summary>One system call (sendmsg, send, write) from byte <paramref name="offset"/>: the count written, or -1 with errno.</summary>
    nint Write(int offset);

    /// <summary>After a call failed with <paramref name="errno"/> (not EINTR or EAGAIN): true when the writer
    /// changed what it sends (fewer credentials, another route), so that another try can succeed.</summary>
    bool Recover(int errno, int offset);
}

/// <summary>
/// The one bounded write loop behind every send that must never block for ever: notify, journal and
/// stderr. EINTR is retried; a full destination (EAGAIN) is waited for with poll(POLLOUT) until the
/// writer's deadline, then given up.
/// </summary>
internal static class BoundedWrite
{
    /// <summary>
    /// Writes <paramref name="length"/> bytes, one call at least (an empty datagram is sent too). Returns
    /// the count written; <paramref name="errno"/> is 0 when all was written, EAGAIN when the deadline
    /// came first, else the failure's (a call's or poll's).
    /// </summary>
    public static int Run<TWriter>(ref TWriter writer, int length, out int errno)
        where TWriter : struct, IBoundedWriter
    {
        int offset = 0;
        long deadline = 0;
        while (!writer.PollFirst || WaitForRoom(ref writer, ref deadline, out errno))
        {
            nint n = writer.Write(offset);
            if (n >= 0)
            {
                offset += (int)n;
                if (offset >= length)
                {
                    errno = 0;
                    return offset;
                }

                continue;
            }

            errno = Libc.LastErrno;
            if (!(errno == Errno.EINTR || (errno == Errno.EAGAIN ? WaitForRoom(ref writer, ref deadline, out errno) : writer.Recover(errno, offset))))
            {
                return offset;
            }
        }

        return offset;
    }

    /// <summary>poll(POLLOUT) until the deadline: true when there is room (or an error the next call
    /// reports); false with EAGAIN on timeout, or poll's errno.</summary>
    private static bool WaitForRoom<TWriter>(ref TWriter writer, ref long deadline, out int errno)
        where TWriter : struct, IBoundedWriter
    {
        deadline = deadline == 0 ? writer.Deadline() : deadline;
        if (Deadline.WaitFor(writer.PollFd, Libc.POLLOUT, deadline, out errno))
        {
            return true;
        }

        errno = errno == 0 ? Errno.EAGAIN : errno;
        return false;
    }
}
