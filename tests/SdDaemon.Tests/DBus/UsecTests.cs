using SdDaemon.DBus;
using Xunit;

namespace SdDaemon.Tests.DBus;

/// <summary>
/// DB-9: usec_t properties as the manager sends them. A unit loaded but not started since (also one unloaded
/// after its stop and read again) reports WatchdogUSec=USEC_INFINITY (2^64-1, service_init() in systemd's
/// service.c; <c>systemctl show</c> prints "infinity"); converting it through a double overflowed TimeSpan and,
/// thrown inside the change handler, lost every change event after a quick stop.
/// </summary>
public sealed class UsecTests
{
    [Theory]
    [InlineData(0UL, 0L)]
    [InlineData(1UL, 10L)]
    [InlineData(30_000_000UL, 300_000_000L)]
    [InlineData(922_337_203_685_477_580UL, 9_223_372_036_854_775_800L)] // the largest whole microsecond a TimeSpan holds
    public void Microseconds_become_exact_ticks(ulong usec, long ticks) =>
        Assert.Equal(TimeSpan.FromTicks(ticks), Usec.ToTimeSpan(usec));

    [Theory]
    [InlineData(ulong.MaxValue)] // USEC_INFINITY
    [InlineData(ulong.MaxValue - 1)]
    [InlineData(922_337_203_685_477_581UL)] // one past TimeSpan's range
    public void Infinity_and_what_a_TimeSpan_cannot_hold_are_infinite(ulong usec) =>
        Assert.Equal(Timeout.InfiniteTimeSpan, Usec.ToTimeSpan(usec));
}
