using System.Diagnostics;

namespace SdDaemon.Interop;

/// <summary>Bounded waits on a descriptor: Stopwatch deadlines and poll(2) until them.</summary>
internal static class Deadline
{
    /// <summary>How long a send waits for a full peer by default (notify, journal, stderr): never hang
    /// a daemon, yet ride out a manager or journald busy for a moment.</summary>
    public static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromSeconds(2);

    /// <summary>A send timeout as the senders' SendTimeout takes it: 0 up to poll's limit, int.MaxValue ms (24 days).</summary>
    public static TimeSpan CheckSendTimeout(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, TimeSpan.FromMilliseconds(int.MaxValue));
        return value;
    }

    /// <summary>A Stopwatch deadline <paramref name="timeout"/> from now; infinite, or too long to add
    /// (over about 100 years), means never (<see cref="long.MaxValue"/>).</summary>
    public static long After(TimeSpan timeout)
    {
        double ticks = timeout.TotalSeconds * Stopwatch.Frequency;
        return timeout == Timeout.InfiniteTimeSpan || ticks >= long.MaxValue / 2
            ? long.MaxValue
            : Stopwatch.GetTimestamp() + (long)ticks;
    }

    /// <summary>poll() for <paramref name="events"/> until the deadline, riding out EINTR.
    /// False with errno 0 on timeout, false with the errno on failure.</summary>
    public static unsafe bool WaitFor(int fd, short events, long deadline, out int errno)
    {
        while (true)
        {
            Libc.PollFd poll = new() { Fd = fd, Events = events };
            int ready = Libc.Poll(&poll, 1, RemainingMilliseconds(deadline));
            if (ready > 0)
            {
                errno = 0;
                return true;
            }

            if (ready == 0)
            {
                errno = 0;
                return false;
            }

            errno = Libc.LastErrno;
            if (errno != Errno.EINTR)
            {
                return false;
            }
        }
    }

    /// <summary>Milliseconds left until the deadline, rounded up, for poll(2) or Monitor.TryEnter: -1 for never, 0 when past.</summary>
    public static int RemainingMilliseconds(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return -1;
        }

        long remaining = deadline - Stopwatch.GetTimestamp();
        if (remaining <= 0)
        {
            return 0;
        }

        return (int)Math.Min(int.MaxValue, Math.Ceiling(remaining * 1000.0 / Stopwatch.Frequency));
    }
}
