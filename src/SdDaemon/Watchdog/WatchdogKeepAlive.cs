using System.Runtime.Versioning;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Sends <c>WATCHDOG=1</c> every half of the watchdog timeout on its own dedicated thread (spec W-4;
/// see <see href="https://www.freedesktop.org/software/systemd/man/sd_watchdog_enabled.html">sd_watchdog_enabled(3)</see>),
/// so that a starved thread pool, a long GC pause of other threads or a blocked async continuation
/// cannot get a healthy daemon killed. Made by <see cref="Watchdog.StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/>.
/// </summary>
/// <remarks>
/// <para>With a health check, a ping is sent only while it says healthy: a wedged daemon stops
/// pinging and the manager kills it (and restarts it with Restart=on-failure).</para>
/// <para><see cref="ChangeTimeout"/> sends <c>WATCHDOG_USEC=</c> (systemd 233) and adjusts the ping
/// interval; the environment is not changed (the manager does not re-export it either).</para>
/// <para>Pings go every half of the timeout, but never more often than every 10 ms: a WatchdogSec=
/// below 20 ms cannot be kept anyway (the scheduling latency of a loaded machine is of that order, and
/// the manager must wake up for each ping), and pinging PID 1 every millisecond only loads it.</para>
/// <para>A ping does not wait in the send for room in a full manager queue: it fails at once with
/// EAGAIN and is tried again after 5, 10, 20... (at most 100) ms until it gets through or the next
/// ping is due, waiting where Dispose and <see cref="ChangeTimeout"/> wake it.</para>
/// <para>Disposing stops the thread and waits for it, which is prompt (a ping in progress is one
/// non-blocking send); no ping is sent after Dispose returns.</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class WatchdogKeepAlive : IDisposable
{
    /// <summary>The floor of <see cref="Interval"/> (see the remarks on the class).</summary>
    internal static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>The first and the longest wait before a ping that found the queue full is tried again.</summary>
    private const int FirstRetryMilliseconds = 5;
    private const int LongestRetryMilliseconds = 100;

    private readonly Func<bool>? _isHealthy;
    private readonly Func<Notification, NotifyResult> _send;
    private readonly Func<Notification, NotifyResult> _sendPing;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private TimeSpan _timeout;
    private bool _stopping;
    private bool _wake;
    private long _pings;
    private long _skipped;
    private NotifyResult _lastResult;

    // send: WATCHDOG_USEC=; sendPing: WATCHDOG=1, which a full queue should fail
    // with EAGAIN at once (the ping loop retries where Dispose can wake it).
    private WatchdogKeepAlive(TimeSpan timeout, Func<bool>? isHealthy, Func<Notification, NotifyResult> send, Func<Notification, NotifyResult> sendPing)
    {
        ValidateTimeout(timeout, nameof(timeout));
        _timeout = timeout;
        _isHealthy = isHealthy;
        _send = send;
        _sendPing = sendPing;
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = "SdDaemon watchdog keep-alive",
            Priority = ThreadPriority.AboveNormal,
        };
        _thread.Start();
    }

    /// <summary>The current watchdog timeout.</summary>
    public TimeSpan Timeout
    {
        get
        {
            lock (_gate)
            {
                return _timeout;
            }
        }
    }

    /// <summary>The time between pings: half of <see cref="Timeout"/>, at least 10 ms (see the remarks on
    /// the class); <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> after the watchdog was
    /// disabled with <see cref="ChangeTimeout"/>.</summary>
    public TimeSpan Interval => IntervalFor(Timeout);

    /// <summary>How many WATCHDOG=1 pings were sent (queued to the manager).</summary>
    public long PingCount => Interlocked.Read(ref _pings);

    /// <summary>How many pings were left out because the health check said unhealthy (or threw).</summary>
    public long SkippedCount => Interlocked.Read(ref _skipped);

    /// <summary>The result of the last ping attempt. Failures never end the keep-alive thread: a
    /// channel disposed before the keep-alive gives a failure with errno 9 (EBADF), any other exception
    /// from sending one with errno 5 (EIO); the thread goes on trying at every interval until Dispose.</summary>
    public NotifyResult LastResult
    {
        get
        {
            lock (_gate)
            {
                return _lastResult;
            }
        }
    }

    /// <summary>
    /// Changes the watchdog timeout at run time: sends <c>WATCHDOG_USEC=</c> to the manager and pings at
    /// half the new timeout from now on. <see cref="TimeSpan.Zero"/> or <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// disable the watchdog (the keep-alive then sleeps until the next change).
    /// </summary>
    /// <returns>The result of sending WATCHDOG_USEC=.</returns>
    /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public NotifyResult ChangeTimeout(TimeSpan timeout)
    {
        if (timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
        }

        // Sent outside the lock: a send may wait up to SendTimeout for room, and the ping thread
        // and the getters must not wait behind it.
        NotifyResult result = _send(new Notification(NotifyState.WatchdogUsec(timeout)));
        lock (_gate)
        {
            _timeout = timeout;
            _wake = true;
            Monitor.PulseAll(_gate);
        }

        return result;
    }

    /// <summary>Stops the keep-alive thread and waits for it to end.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                return;
            }

            _stopping = true;
            Monitor.PulseAll(_gate);
        }

        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    internal static TimeSpan IntervalFor(TimeSpan timeout) =>
        timeout == TimeSpan.Zero || timeout == System.Threading.Timeout.InfiniteTimeSpan
            ? System.Threading.Timeout.InfiniteTimeSpan
            : TimeSpan.FromTicks(Math.Max(timeout.Ticks / 2, MinimumInterval.Ticks));

    /// <summary>
    /// Starts a keep-alive (<see cref="Watchdog.StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/>). Starting its thread fails in two ways
    /// the runtime does not name: pthread_create failing is reported as OutOfMemoryException, and without
    /// a free descriptor, loading an assembly the new code needs (the System.Threading.Thread facade, on
    /// first use) is a FileNotFoundException. Either becomes an <see cref="SdDaemonException"/> that says
    /// what ran out (no ThreadStartException here: naming it would itself need that facade).
    /// </summary>
    internal static WatchdogKeepAlive Start(TimeSpan timeout, Func<bool>? isHealthy, NotifyChannel channel) =>
        Start(timeout, isHealthy, notification => channel.Send(notification), channel.SendWithoutWaiting);

    /// <summary>A keep-alive that sends through <paramref name="send"/> (<see cref="Watchdog.StartKeepAlive(TimeSpan, Func{bool}?, Func{Notification, NotifyResult})"/>).</summary>
    internal static WatchdogKeepAlive Start(TimeSpan timeout, Func<bool>? isHealthy, Func<Notification, NotifyResult> send) =>
        Start(timeout, isHealthy, send, send);

    private static WatchdogKeepAlive Start(TimeSpan timeout, Func<bool>? isHealthy, Func<Notification, NotifyResult> send, Func<Notification, NotifyResult> sendPing)
    {
        try
        {
            return new WatchdogKeepAlive(timeout, isHealthy, send, sendPing);
        }
        catch (Exception e) when (e is OutOfMemoryException or FileNotFoundException or FileLoadException)
        {
            int errno = DescriptorShortage();
            if (errno == 0 && e is not OutOfMemoryException)
            {
                throw; // an assembly really missing
            }

            throw ThreadFailed(errno, e);
        }
    }

    /// <summary>EMFILE or ENFILE when no descriptor can be opened now (a probe socket), else 0.</summary>
    private static int DescriptorShortage()
    {
        try
        {
            int probe = Libc.Socket(Libc.AF_UNIX, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
            int errno = probe < 0 ? Libc.LastErrno : 0;
            Libc.CloseQuietly(probe);
            return errno is Errno.EMFILE or Errno.ENFILE ? errno : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or FileNotFoundException or FileLoadException)
        {
            return Errno.EMFILE; // not even libc or an interop facade could be opened: nothing can be
        }
    }

    /// <summary>The error for a keep-alive thread that could not be started, with what ran out:
    /// descriptors (EMFILE, ENFILE) or threads and memory (EAGAIN: RLIMIT_NPROC, threads-max).</summary>
    private static SdDaemonException ThreadFailed(int errno, Exception inner)
    {
        string what = errno is Errno.EMFILE or Errno.ENFILE
            ? $"the process has no free file descriptor (errno {errno}: {(errno == Errno.EMFILE ? "too many open files" : "too many open files in the system")}); raise LimitNOFILE= or close descriptors"
            : $"the system refused a new thread (threads or memory exhausted; the runtime said {inner.GetType().Name})";
        return new SdDaemonException(
            $"The watchdog keep-alive thread could not be started: {what}. No ping was sent.",
            errno is Errno.EMFILE or Errno.ENFILE ? errno : Errno.EAGAIN);
    }

    private static void ValidateTimeout(TimeSpan timeout, string name) =>
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero, name);

    private void Run()
    {
        lock (_gate)
        {
            while (!_stopping)
            {
                TimeSpan interval = IntervalFor(_timeout);

                // The next ping is due one interval after this one began: a slow health check or a
                // ping retried on a full queue must not stretch the gap between pings past the interval.
                long due = interval == System.Threading.Timeout.InfiniteTimeSpan
                    ? long.MaxValue
                    : System.Environment.TickCount64 + (long)interval.TotalMilliseconds;
                if (interval != System.Threading.Timeout.InfiniteTimeSpan)
                {
                    PingIfHealthy(due);
                }

                // Sleep until then, or until Dispose or a timeout change wakes us.
                WaitUntil(due);
                _wake = false;
            }
        }
    }

    /// <summary>Monitor.Wait until <paramref name="until"/> (TickCount64), Dispose or a timeout change.
    /// Called with the lock held.</summary>
    private void WaitUntil(long until)
    {
        while (!_stopping && !_wake)
        {
            long left = until - System.Environment.TickCount64;
            if (left <= 0)
            {
                return;
            }

            Monitor.Wait(_gate, until == long.MaxValue ? -1 : (int)Math.Min(left, int.MaxValue));
        }
    }

    /// <summary>Runs <paramref name="work"/> (a user's health check, a send) without the lock that the caller
    /// holds, so that Dispose and ChangeTimeout never wait for it.</summary>
    private T Unlocked<T>(Func<T> work)
    {
        Monitor.Exit(_gate);
        try
        {
            return work();
        }
        finally
        {
            Monitor.Enter(_gate);
        }
    }

    /// <summary>One ping, if healthy: sent at once, and on a full queue tried again until it gets
    /// through or <paramref name="due"/> (see the remarks on the class). Called with the lock held;
    /// the health check and the sends run outside it.</summary>
    private void PingIfHealthy(long due)
    {
        if (!Unlocked(IsHealthy))
        {
            Interlocked.Increment(ref _skipped);
            return;
        }

        int retry = FirstRetryMilliseconds;
        while (!_stopping && !_wake)
        {
            NotifyResult result = Unlocked(SendPing);
            _lastResult = result;
            if (result.IsSent)
            {
                Interlocked.Increment(ref _pings);
                return;
            }

            if (result.Errno != Errno.EAGAIN || System.Environment.TickCount64 >= due)
            {
                return; // a real failure, or the next ping is due: it starts afresh
            }

            // The manager's queue is full: wait here, where Dispose wakes us, rather than in the send.
            WaitUntil(Math.Min(due, System.Environment.TickCount64 + retry));
            retry = Math.Min(retry * 2, LongestRetryMilliseconds);
        }
    }

    private bool IsHealthy()
    {
        try
        {
            return _isHealthy?.Invoke() ?? true;
        }
        catch (Exception)
        {
            return false; // a health check that throws is not a healthy daemon
        }
    }

    private NotifyResult SendPing()
    {
        try
        {
            return _sendPing(Notification.Watchdog);
        }
        catch (ObjectDisposedException)
        {
            // The channel (or the notifier sending for us) was disposed before this keep-alive (for
            // example `using` declarations in the reverse order). An exception here would end the
            // process (an unhandled exception on a dedicated thread); record it and keep going until
            // Dispose, pinging nothing.
            return NotifyResult.Failure(Errno.EBADF, "the notify channel was disposed before the watchdog keep-alive");
        }
        catch (Exception e)
        {
            return NotifyResult.Failure(Errno.EIO, $"sending WATCHDOG=1 threw {e.GetType().Name}: {e.Message}");
        }
    }
}
