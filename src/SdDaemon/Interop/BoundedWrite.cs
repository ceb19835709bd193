namespace SdDaemon.Interop;

/// <summary>
/// One writer of <see cref="BoundedWrite.Run"/>: the system call that writes (sendmsg, send, write),
/// where to wait for room, and until when.
/// </summary>
internal interface IBoundedWriter
{
    /// <summary>The descriptor whose room poll(2) waits for.</summary>
    int PollFd { get; }

    /// <summary>True when the descriptor blocks (it could not be made non-blocking without touching
    /// shared flags): every call then goes only into room poll has just seen.</summary>
    bool PollFirst { get; }

    /// <summary>The Stopwatch deadline (see <see cref="Interop.Deadline"/>), asked for at the first wait only, so
    /// that a write that never waits reads no clock.</summary>
    long Deadline();

    /// <summary>One system call writing from byte <paramref name="offset"/>: the count written, or -1
    /// with errno set.</summary>
    nint Write(int offset);

    /// <summary>After a call failed with <paramref name="errno"/> (not EINTR or EAGAIN) once
    /// <paramref name="offset"/> bytes were written: true when the writer changed what it sends, so that
    /// another try can succeed.</summary>
    bool Recover(int errno, int offset);
}

/// <summary>
/// The one bounded write loop behind every send that must never block for ever: the notify channel's
/// sendmsg, the journal writer's, and the stderr sink's write/send. The descriptor is non-blocking (or
/// polled first, see <see cref="IBoundedWriter.PollFirst"/>); EINTR is retried; a full destination
/// (EAGAIN) is waited for with poll(POLLOUT) until the writer's deadline, then given up.
/// </summary>
internal static class BoundedWrite
{
    /// <summary>
    /// Writes <paramref name="length"/> bytes with <paramref name="writer"/>, one call at least (so an
    /// empty datagram is sent too). Returns the count written; <paramref name="errno"/> is 0 when all
    /// was written, EAGAIN when the deadline came first, else the failure's (a call's or poll's).
    /// </summary>
    public static int Run<TWriter>(ref TWriter writer, int length, out int errno)
        where TWriter : struct, IBoundedWriter
    {
        int offset = 0;
        long deadline = 0;
        while (true)
        {
            if (writer.PollFirst && !WaitForRoom(ref writer, ref deadline, out errno))
            {
                return offset;
            }

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
            if (errno == Errno.EINTR || (errno == Errno.EAGAIN ? WaitForRoom(ref writer, ref deadline, out errno) : writer.Recover(errno, offset)))
            {
                continue;
            }

            return offset;
        }
    }

    /// <summary>poll(POLLOUT) until the deadline: true when there is room (or an error the next call
    /// reports); false with EAGAIN on timeout, or poll's errno.</summary>
    private static bool WaitForRoom<TWriter>(ref TWriter writer, ref long deadline, out int errno)
        where TWriter : struct, IBoundedWriter
    {
        if (deadline == 0)
        {
            deadline = writer.Deadline();
        }

        if (Deadline.WaitFor(writer.PollFd, Libc.POLLOUT, deadline, out errno))
        {
            return true;
        }

        if (errno == 0)
        {
            errno = Errno.EAGAIN;
        }

        return false;
    }
}
