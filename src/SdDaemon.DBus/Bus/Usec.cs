namespace SdDaemon.DBus;

/// <summary>systemd's usec_t properties (WatchdogUSec, InhibitDelayMaxUSec...) as TimeSpan.</summary>
internal static class Usec
{
    /// <summary>
    /// Exact ticks, not through a double. systemd's USEC_INFINITY (2^64-1: a unit loaded but not
    /// started since reports WatchdogUSec=infinity, logind.conf accepts InhibitDelayMaxSec=infinity)
    /// and anything past TimeSpan's range are <see cref="Timeout.InfiniteTimeSpan"/> (DB-9):
    /// TimeSpan.FromMicroseconds would throw OverflowException.
    /// </summary>
    public static TimeSpan ToTimeSpan(ulong usec) =>
        usec > (ulong)(TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond)
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromTicks((long)usec * TimeSpan.TicksPerMicrosecond);
}
