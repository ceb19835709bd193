using System.Collections.Concurrent;
using System.Diagnostics;
using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Watchdog;

/// <summary>Spec W-4: the keep-alive, against a NotifyReceiver standing in for the manager.</summary>
public sealed class WatchdogKeepAliveTests : IDisposable
{
    private readonly NotifyReceiver _receiver = NotifyReceiver.Bind();
    private readonly NotifyChannel _channel;

    public WatchdogKeepAliveTests()
    {
        _channel = NotifyChannel.Create(_receiver.NotifySocket);
    }

    public void Dispose()
    {
        _channel.Dispose();
        _receiver.Dispose();
    }

    private List<(TimeSpan At, string Text)> Collect(TimeSpan duration)
    {
        var got = new List<(TimeSpan, string)>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            NotifyMessage? m = _receiver.Receive(duration - clock.Elapsed);
            if (m is not null)
            {
                got.Add((clock.Elapsed, m.Text));
            }
        }

        return got;
    }

    /// <summary>A keep-alive on the test's channel whose health check (always healthy) records, on the
    /// keep-alive thread, when each ping is about to be sent: <paramref name="clock"/>'s time into <paramref name="sentAt"/>.</summary>
    private WatchdogKeepAlive StartTimed(TimeSpan timeout, Stopwatch clock, ConcurrentQueue<TimeSpan> sentAt) =>
        SdDaemon.Watchdog.StartKeepAlive(timeout, () =>
        {
            sentAt.Enqueue(clock.Elapsed);
            return true;
        }, _channel);

    /// <summary>
    /// Receives <paramref name="count"/> pings and returns when each was sent: the times a health check
    /// recorded right before its ping (on the keep-alive thread). Times taken where the pings are
    /// received would add the receiving thread's own delays, which under load made one gap long and
    /// the next short.
    /// </summary>
    private List<TimeSpan> ReceivePings(ConcurrentQueue<TimeSpan> sentAt, int count)
    {
        for (int i = 0; i < count; i++)
        {
            Assert.Equal("WATCHDOG=1", _receiver.Receive(TimeSpan.FromSeconds(5))?.Text);
        }

        Assert.True(SpinWait.SpinUntil(() => sentAt.Count >= count, TimeSpan.FromSeconds(5)));
        return [.. sentAt.Take(count)];
    }

    /// <summary>
    /// Every gap between the <paramref name="pings"/> is at least <paramref name="floorMs"/>, and the
    /// shortest is at most <paramref name="promptMs"/>. A busy machine only ever adds to a gap (the next
    /// ping is due one interval after the previous began, however late that was), so a floor holds for
    /// each gap, while a ceiling holds only for the shortest: a keep-alive that waited too long between
    /// pings makes every gap long; one late wake-up (runs here saw 442 and 510 ms for 200) does not.
    /// </summary>
    private static void AssertGaps(List<TimeSpan> pings, double floorMs, double promptMs)
    {
        double[] gaps = [.. pings.Zip(pings.Skip(1), (a, b) => (b - a).TotalMilliseconds)];
        string all = string.Join(", ", gaps.Select(g => g.ToString("F0", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(gaps.Min() >= floorMs, $"a gap below {floorMs} ms: {all}");
        Assert.True(gaps.Min() <= promptMs, $"no gap within {promptMs} ms: {all}");
    }

    [Fact]
    public void W4_pings_at_once_and_then_every_half_timeout()
    {
        var sentAt = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        using WatchdogKeepAlive keeper = StartTimed(TimeSpan.FromMilliseconds(400), clock, sentAt);
        Assert.Equal(TimeSpan.FromMilliseconds(200), keeper.Interval);
        AssertGaps(ReceivePings(sentAt, 6), 120, 300); // every 200 ms, never as late as the 400 ms timeout

        // At once: with a 60 s timeout the first ping would otherwise be 30 s away.
        keeper.Dispose();
        while (_receiver.Receive(TimeSpan.Zero) is not null)
        {
        }

        using WatchdogKeepAlive slow = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(60), channel: _channel);
        Assert.Equal("WATCHDOG=1", _receiver.Receive(TimeSpan.FromSeconds(5))?.Text);
    }

    [Fact]
    public void W4_with_a_send_delegate_pings_and_timeout_changes_go_through_it()
    {
        var sent = new ConcurrentQueue<string>();
        int busy = 2; // the first two pings find the queue full: retried, not skipped
        WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(10), null, notification =>
        {
            if (notification.Text == "WATCHDOG=1" && Interlocked.Decrement(ref busy) >= 0)
            {
                return NotifyResult.Failure(11, "queue full");
            }

            sent.Enqueue(notification.Text);
            return NotifyResult.Sent;
        });
        using (keeper)
        {
            Assert.True(SpinWait.SpinUntil(() => keeper.PingCount == 1, TimeSpan.FromSeconds(5)));
            Assert.True(keeper.ChangeTimeout(TimeSpan.FromSeconds(20)).IsSent);
        }

        // A timeout change wakes the thread, which pings again at once: somewhere after the change.
        Assert.Equal("WATCHDOG=1", sent.First());
        Assert.Equal(["WATCHDOG_USEC=20000000"], sent.Where(t => t != "WATCHDOG=1"));
        Assert.Null(_receiver.Receive(TimeSpan.Zero)); // nothing went to NOTIFY_SOCKET's channel
    }

    [Fact]
    public void W4_a_slow_health_check_does_not_stretch_the_gap_between_pings()
    {
        // The next ping is due one interval after the previous one began: a 150 ms health check
        // at a 200 ms interval must not make the gap 350 ms (near the 400 ms timeout).
        var sentAt = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(400), () =>
        {
            Thread.Sleep(150);
            sentAt.Enqueue(clock.Elapsed); // the check's end: its ping follows at once
            return true;
        }, channel: _channel);
        AssertGaps(ReceivePings(sentAt, 6), 120, 300); // at about 150, 350, ..., 1150 ms; every gap 350 if the check's time were added
    }

    [Fact]
    public void W4_pings_keep_coming_while_every_thread_pool_thread_is_blocked()
    {
        var sentAt = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        using WatchdogKeepAlive keeper = StartTimed(TimeSpan.FromMilliseconds(300), clock, sentAt);
        // Not disposed: queued items that start after the test must still find it usable.
        var release = new ManualResetEventSlim();
        // Starve the pool: far more blocking work items than it will start in the time measured.
        for (int i = 0; i < 200; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(_ => release.Wait(), null);
        }

        try
        {
            // Every 150 ms; a pool-driven timer would wait for the pool to inject a thread (500 ms and more).
            AssertGaps(ReceivePings(sentAt, 6), 90, 300);
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public void W4_no_ping_while_unhealthy_and_pings_again_when_healthy()
    {
        bool healthy = true;
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(200), () => Volatile.Read(ref healthy), _channel);
        _receiver.WaitFor("WATCHDOG", "1", TimeSpan.FromSeconds(2));
        Volatile.Write(ref healthy, false);
        Thread.Sleep(150); // let an in-flight ping land
        while (_receiver.Receive(TimeSpan.Zero) is not null)
        {
        }

        Assert.Empty(Collect(TimeSpan.FromMilliseconds(600)));
        Assert.True(SpinWait.SpinUntil(() => keeper.SkippedCount >= 3, TimeSpan.FromSeconds(5)), $"skipped {keeper.SkippedCount}");
        Volatile.Write(ref healthy, true);
        _receiver.WaitFor("WATCHDOG", "1", TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void W4_a_throwing_health_check_counts_as_unhealthy()
    {
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(200), () => throw new InvalidOperationException("wedged"), _channel);
        Assert.Empty(Collect(TimeSpan.FromMilliseconds(500)));
        Assert.True(SpinWait.SpinUntil(() => keeper.SkippedCount >= 2, TimeSpan.FromSeconds(5)), $"skipped {keeper.SkippedCount}");
        Assert.Equal(0, keeper.PingCount);
    }

    [Fact]
    public void W4_changing_the_timeout_sends_WATCHDOG_USEC_and_adjusts_the_interval()
    {
        var sentAt = new ConcurrentQueue<TimeSpan>();
        var clock = Stopwatch.StartNew();
        using WatchdogKeepAlive keeper = StartTimed(TimeSpan.FromSeconds(10), clock, sentAt);
        _receiver.WaitFor("WATCHDOG", "1", TimeSpan.FromSeconds(2));
        TimeSpan changed = clock.Elapsed;
        Assert.True(keeper.ChangeTimeout(TimeSpan.FromMilliseconds(200)).IsSent);
        _receiver.WaitFor("WATCHDOG_USEC", "200000", TimeSpan.FromSeconds(2));
        Assert.Equal(TimeSpan.FromMilliseconds(100), keeper.Interval);

        // The change wakes the thread, which pings at once and then every 100 ms; with the old 5 s
        // interval there would be no second ping for 5 s. (Timed where they are sent: a count of
        // pings received in a fixed window depended on how promptly the test thread ran.)
        Assert.True(SpinWait.SpinUntil(() => sentAt.Count(t => t > changed) >= 6, TimeSpan.FromSeconds(5)), $"{sentAt.Count(t => t > changed)} pings since the change");
        List<TimeSpan> pings = [.. sentAt.Where(t => t > changed).Take(6)];
        AssertGaps(pings, 60, 190);

        for (int i = 0; i < pings.Count; i++)
        {
            Assert.Equal("WATCHDOG=1", _receiver.Receive(TimeSpan.FromSeconds(5))?.Text); // and the manager got them
        }

        while (_receiver.Receive(TimeSpan.Zero) is not null)
        {
        }

        Assert.True(keeper.ChangeTimeout(TimeSpan.Zero).IsSent); // disables: no more pings
        _receiver.WaitFor("WATCHDOG_USEC", "0", TimeSpan.FromSeconds(2));
        Assert.Equal(Timeout.InfiniteTimeSpan, keeper.Interval);
        Thread.Sleep(150);
        while (_receiver.Receive(TimeSpan.Zero) is not null)
        {
        }

        Assert.Empty(Collect(TimeSpan.FromMilliseconds(400)));
    }

    [Fact]
    public void W4_trigger_sends_WATCHDOG_trigger()
    {
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(30), channel: _channel);
        Assert.True(_channel.Send(Notification.WatchdogTrigger).IsSent);
        _receiver.WaitFor("WATCHDOG", "trigger", TimeSpan.FromSeconds(2));
    }

    [Fact]
    public void W4_dispose_stops_the_thread_and_no_ping_follows()
    {
        WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(100), channel: _channel);
        _receiver.WaitFor("WATCHDOG", "1", TimeSpan.FromSeconds(2));
        var clock = Stopwatch.StartNew();
        keeper.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"Dispose took {clock.Elapsed}");
        while (_receiver.Receive(TimeSpan.Zero) is not null)
        {
        }

        Assert.Empty(Collect(TimeSpan.FromMilliseconds(300)));
        keeper.Dispose(); // twice is fine
        Assert.Throws<ObjectDisposedException>(() => keeper.ChangeTimeout(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void W4_invalid_timeouts_are_argument_errors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SdDaemon.Watchdog.StartKeepAlive(TimeSpan.Zero, channel: _channel));
        Assert.Throws<ArgumentOutOfRangeException>(() => SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(-1), channel: _channel));
    }

    [Fact]
    public void A_channel_disposed_before_the_keep_alive_gives_a_failed_LastResult_not_a_dead_process()
    {
        var channel = NotifyChannel.Create(_receiver.NotifySocket);
        WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(100), channel: channel);
        try
        {
            Assert.NotNull(_receiver.Receive(TimeSpan.FromSeconds(2))); // it works before
            channel.Dispose(); // `using` declarations in the wrong order
            var clock = Stopwatch.StartNew();
            while (!keeper.LastResult.IsFailed && clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(20);
            }

            Assert.True(keeper.LastResult.IsFailed, keeper.LastResult.ToString());
            Assert.Equal(9, keeper.LastResult.Errno); // EBADF
            long pings = keeper.PingCount;
            Thread.Sleep(250); // several more intervals: still alive, still failing, no exception
            Assert.Equal(pings, keeper.PingCount);
            Assert.True(keeper.LastResult.IsFailed);
        }
        finally
        {
            keeper.Dispose(); // returns: the thread is still there to be stopped
        }
    }

    [Fact]
    public void A_health_check_that_throws_counts_as_unhealthy()
    {
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(
            TimeSpan.FromMilliseconds(100), () => throw new InvalidOperationException("broken check"), channel: _channel);
        // The checks run on the keep-alive thread: wait for two of them, however slowly it is scheduled.
        Assert.True(SpinWait.SpinUntil(() => keeper.SkippedCount >= 2, TimeSpan.FromSeconds(5)), $"skipped {keeper.SkippedCount}");
        Assert.Equal(0, keeper.PingCount);
        Assert.Null(_receiver.Receive(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void W6_a_tiny_timeout_pings_every_10_ms_at_most_not_every_millisecond()
    {
        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromMilliseconds(2), channel: _channel);
        Assert.Equal(TimeSpan.FromMilliseconds(10), keeper.Interval);
        List<(TimeSpan At, string Text)> pings = Collect(TimeSpan.FromMilliseconds(500));

        // 500 ms at 10 ms: about 50 (fewer on a busy machine); every 1 ms would be about 500.
        Assert.InRange(pings.Count, 5, 60);
        Assert.Equal(TimeSpan.FromMilliseconds(10), WatchdogKeepAlive.IntervalFor(TimeSpan.FromTicks(1)));
        Assert.Equal(TimeSpan.FromMilliseconds(10), WatchdogKeepAlive.IntervalFor(TimeSpan.FromMilliseconds(20)));
        Assert.Equal(TimeSpan.FromMilliseconds(15), WatchdogKeepAlive.IntervalFor(TimeSpan.FromMilliseconds(30)));
    }

    [Fact]
    public void W6_dispose_is_prompt_while_a_ping_finds_the_managers_queue_full()
    {
        // The manager's queue is full and nobody reads it: sends from another channel fill it.
        using var filler = NotifyChannel.Create(_receiver.NotifySocket);
        filler.SendTimeout = TimeSpan.Zero;
        int queued = 0;
        while (filler.Send(Notification.Status("filler")).IsSent)
        {
            queued++;
        }

        Assert.True(queued > 0);
        _channel.SendTimeout = TimeSpan.FromSeconds(5); // a send that waited for room would hold Dispose this long
        WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(10), channel: _channel);
        var clock = Stopwatch.StartNew();
        while (keeper.LastResult.Errno != 11 && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            Thread.Sleep(5);
        }

        Assert.Equal(11, keeper.LastResult.Errno); // EAGAIN: the ping found the queue full
        Thread.Sleep(50); // it is now waiting to try again
        clock.Restart();
        keeper.Dispose();
        TimeSpan took = clock.Elapsed;
        // A ping waiting in the send for room would hold Dispose for the 5 s SendTimeout; 2 s leaves a
        // loaded machine room to wake and join the thread.
        Assert.True(took < TimeSpan.FromSeconds(2), $"Dispose took {took}");

        // No ping was queued, and none follows once there is room again.
        int watchdog = 0;
        while (_receiver.Receive(TimeSpan.Zero) is { } m)
        {
            watchdog += m.Text == "WATCHDOG=1" ? 1 : 0;
        }

        Assert.Equal(0, watchdog);
        Assert.Equal(0, keeper.PingCount);
        Assert.Empty(Collect(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public void W6_a_ping_that_finds_the_queue_full_is_tried_again_and_gets_through_once_there_is_room()
    {
        using var filler = NotifyChannel.Create(_receiver.NotifySocket);
        filler.SendTimeout = TimeSpan.Zero;
        int queued = 0;
        while (filler.Send(Notification.Status("filler")).IsSent)
        {
            queued++;
        }

        using WatchdogKeepAlive keeper = SdDaemon.Watchdog.StartKeepAlive(TimeSpan.FromSeconds(60), channel: _channel);
        Thread.Sleep(100);
        Assert.Equal(0, keeper.PingCount);
        for (int i = 0; i < queued; i++)
        {
            Assert.Equal("STATUS=filler", _receiver.Receive(TimeSpan.FromSeconds(5))!.Text);
        }

        // Within the 100 ms retry step, long before the next ping is due (30 s).
        Assert.Equal("WATCHDOG=1", _receiver.Receive(TimeSpan.FromSeconds(5))?.Text);

        // The count follows the send's return, so the receiver can see the ping an instant before it.
        Assert.True(SpinWait.SpinUntil(() => keeper.PingCount == 1, TimeSpan.FromSeconds(5)), $"PingCount {keeper.PingCount}");
        Assert.Equal(1, keeper.PingCount);
    }

    [Fact]
    public void Without_a_free_descriptor_StartKeepAlive_throws_a_specific_error_not_OutOfMemoryException()
    {
        // Process-wide (RLIMIT_NOFILE, every descriptor taken): in a child process.
        (int exitCode, string output) = TestDaemonChild.Run("keepalive-without-fds");
        Assert.True(exitCode == 0, output);
        Assert.Contains("keepalive-without-fds: SdDaemonException errno=24: The watchdog keep-alive thread could not be started: the process has no free file descriptor", output, StringComparison.Ordinal);
    }
}
