using System.Runtime.Versioning;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Sends <c>WATCHDOG=1</c> every half of the watchdog timeout on its own dedicated thread (spec W-4;
/// see <see href="https://www.freedesktop.org/software/systemd/man/sd_watchdog_enabled.html">sd_watchdog_enabled(3)</see>),
/// so that a starved thread pool, a long GC pause of other threads or a blocked async continuation
/// cannot get a healthy daemon killed. Made by <see cref="Watchdog.StartKeepAlive"/>.
/// </summary>
/// <remarks>
/// <para>With a health check, a ping is sent only while it says healthy: a wedged daemon stops
/// pinging and the manager kills it (and restarts it with Restart=on-failure).</para>
/// <para><see cref="ChangeTimeout"/> sends <c>WATCHDOG_USEC=</c> (systemd 233) and adjusts the ping
/// interval; the environment is not changed (the manager does not re-export it either).</para>
/// <para>Disposing stops the thread and waits for it; no ping is sent after Dispose returns.</para>
/// </remarks>
[SupportedOSPlatform("linux")]
public sealed class WatchdogKeepAlive : IDisposable
{
    private readonly Func<bool>? _isHealthy;
    private readonly NotifyChannel _channel;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private TimeSpan _timeout;
    private bool _stopping;
    private bool _wake;
    private long _pings;
    private long _skipped;
    private NotifyResult _lastResult;

    internal WatchdogKeepAlive(TimeSpan timeout, Func<bool>? isHealthy, NotifyChannel channel)
    {
        ValidateTimeout(timeout, nameof(timeout));
        _timeout = timeout;
        _isHealthy = isHealthy;
        _channel = channel;
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

    /// <summary>The time between pings: half of <see cref="Timeout"/>; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>
    /// after the watchdog was disabled with <see cref="ChangeTimeout"/>.</summary>
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
        NotifyResult result = _channel.Send(new Notification(NotifyState.WatchdogUsec(timeout)));
        lock (_gate)
        {
            _timeout = timeout;
            _wake = true;
            Monitor.PulseAll(_gate);
        }

        return result;
    }

    /// <summary><c>WATCHDOG=trigger</c> (systemd 243): tell the manager to act as if the watchdog had timed out, now.</summary>
    public NotifyResult Trigger() => _channel.Send(Notification.WatchdogTrigger);

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
            : timeout / 2;

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
                // send that waits for room must not stretch the gap between pings past the interval.
                long deadline = interval == System.Threading.Timeout.InfiniteTimeSpan
                    ? long.MaxValue
                    : System.Environment.TickCount64 + (long)Math.Max(1, interval.TotalMilliseconds);
                if (interval != System.Threading.Timeout.InfiniteTimeSpan)
                {
                    Monitor.Exit(_gate);
                    try
                    {
                        PingIfHealthy();
                    }
                    finally
                    {
                        Monitor.Enter(_gate);
                    }
                }

                // Sleep until then, or until Dispose or a timeout change wakes us.
                while (!_stopping && !_wake)
                {
                    long left = deadline - System.Environment.TickCount64;
                    if (left <= 0)
                    {
                        break;
                    }

                    Monitor.Wait(_gate, deadline == long.MaxValue ? -1 : (int)Math.Min(left, int.MaxValue));
                }

                _wake = false;
            }
        }
    }

    private void PingIfHealthy()
    {
        bool healthy;
        try
        {
            healthy = _isHealthy?.Invoke() ?? true;
        }
        catch (Exception)
        {
            healthy = false; // a health check that throws is not a healthy daemon
        }

        if (!healthy)
        {
            Interlocked.Increment(ref _skipped);
            return;
        }

        NotifyResult result;
        try
        {
            result = _channel.Send(Notification.Watchdog);
        }
        catch (ObjectDisposedException)
        {
            // The channel was disposed before this keep-alive (for example `using` declarations in
            // the reverse order). An exception here would end the process (an unhandled exception on
            // a dedicated thread); record it and keep going until Dispose, pinging nothing.
            result = NotifyResult.Failure(Errno.EBADF, "the notify channel was disposed before the watchdog keep-alive");
        }
        catch (Exception e)
        {
            result = NotifyResult.Failure(Errno.EIO, $"sending WATCHDOG=1 threw {e.GetType().Name}: {e.Message}");
        }

        if (result.IsSent)
        {
            Interlocked.Increment(ref _pings);
        }

        lock (_gate)
        {
            _lastResult = result;
        }
    }
}
