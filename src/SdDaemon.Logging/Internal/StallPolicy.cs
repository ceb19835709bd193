using System.Diagnostics;
using SdDaemon.Interop;

namespace SdDaemon.Logging.Internal;

/// <summary>
/// The one policy for a destination whose reader stopped reading (a full pipe, a journald stream or
/// datagram socket nobody drains): a write waits for room at most its timeout; once a write has waited
/// that long in vain, the destination is stalled and later writes do not wait at all (they go through
/// if there is room right now, else fail at once) until one gets through whole. Without it every call
/// would pay the whole timeout again: 2 s per log call, and each thread queued behind the first in turn.
/// One policy for the stderr sink and the journal writer alike (spec J-5).
/// </summary>
internal sealed class StallPolicy
{
    private volatile bool _stalled;

    /// <summary>True after a write waited its whole timeout and none got through since.</summary>
    public bool IsStalled => _stalled;

    /// <summary>How long a write may wait: until <paramref name="deadline"/> (a Stopwatch timestamp,
    /// see <see cref="Deadline"/>), or not at all when the destination is stalled (try once).</summary>
    public long Limit(long deadline) => _stalled ? Stopwatch.GetTimestamp() : deadline;

    /// <summary>A write got through whole: the next one may wait again.</summary>
    public void Delivered() => _stalled = false;

    /// <summary>A write waited until its deadline and did not get through whole.</summary>
    public void TimedOut() => _stalled = true;
}
