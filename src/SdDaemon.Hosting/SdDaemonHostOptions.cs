namespace SdDaemon.Hosting;

/// <summary>Options of <see cref="Microsoft.Extensions.Hosting.SdDaemonHostExtensions.UseSdDaemon(Microsoft.Extensions.Hosting.IHostBuilder, Action{SdDaemonHostOptions}?)"/>.</summary>
public sealed class SdDaemonHostOptions
{
    /// <summary>
    /// While the host starts or stops, EXTEND_TIMEOUT_USEC is sent every this often, so that a slow
    /// start-up or shutdown is not killed by TimeoutStartSec=/TimeoutStopSec=. Default 5 seconds.
    /// Each message extends the timeout to twice this from now.
    /// </summary>
    public TimeSpan TimeoutExtensionInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Extensions stop after this long, so that a start-up or shutdown that hangs is still ended by
    /// the manager. Default 5 minutes; <see cref="TimeSpan.Zero"/> never extends.
    /// </summary>
    public TimeSpan MaxTimeoutExtension { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// SIGHUP reloads configuration (IConfigurationRoot.Reload, then every <see cref="IReloadHandler"/>)
    /// wrapped in RELOADING=1 + MONOTONIC_USEC ... READY=1, as Type=notify-reload (systemd 253) requires.
    /// Default true.
    /// </summary>
    public bool ReloadOnSighup { get; set; } = true;

    /// <summary>
    /// Lame-duck period: after SIGTERM, STOPPING=1 is sent and the host keeps running this long
    /// (so load balancers and clients notice) before it stops; in-flight work then has
    /// HostOptions.ShutdownTimeout to finish. Default zero.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The STATUS= text sent with READY=1; null sends none. Default "running".</summary>
    public string? ReadyStatus { get; set; } = "running";

    /// <summary>
    /// Remove NOTIFY_SOCKET from the .NET process environment at start-up (the host keeps its own
    /// channel), so that child processes the application starts cannot notify on its behalf.
    /// Default true.
    /// </summary>
    public bool HideNotifySocketFromChildren { get; set; } = true;

    /// <summary>
    /// Under a service manager, log through SdDaemon.Logging's journal provider instead of the console
    /// provider (removed): native entries with structured fields when stderr is the journal
    /// (JOURNAL_STREAM matches fd 2), otherwise (INVOCATION_ID set, stderr a file, a pipe, syslog)
    /// <c>&lt;N&gt;</c>-prefixed lines on stderr, every line of a message with its own prefix, so that
    /// the console provider's unprefixed two-line records never reach a log. Outside a manager the
    /// console provider stays. Default true.
    /// </summary>
    public bool UseJournalLogging { get; set; } = true;

    /// <summary>
    /// Watch the unit's memory pressure (MemoryPressureWatch=, <c>$MEMORY_PRESSURE_WATCH</c>,
    /// systemd 254+) and shed memory when it rises: every <see cref="IMemoryPressureHandler"/>, then
    /// a compacting collection (<see cref="CompactOnMemoryPressure"/>). Default true; without the
    /// variable it logs once that there is nothing to watch.
    /// </summary>
    public bool WatchMemoryPressure { get; set; } = true;

    /// <summary>The least time between two memory pressure responses; events in between fold into one. Default 5 seconds.</summary>
    public TimeSpan MemoryPressureMinimumInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On memory pressure, run a blocking, aggressive, compacting full collection that also compacts
    /// the large object heap and gives free memory back to the kernel. Default true.
    /// </summary>
    public bool CompactOnMemoryPressure { get; set; } = true;

    /// <summary>Every property onto <paramref name="target"/>: the options pipeline's instance gets
    /// the values the configure delegate of AddSdDaemon set on this one (the delegate runs once).</summary>
    internal void CopyTo(SdDaemonHostOptions target)
    {
        target.TimeoutExtensionInterval = TimeoutExtensionInterval;
        target.MaxTimeoutExtension = MaxTimeoutExtension;
        target.ReloadOnSighup = ReloadOnSighup;
        target.DrainDelay = DrainDelay;
        target.ReadyStatus = ReadyStatus;
        target.HideNotifySocketFromChildren = HideNotifySocketFromChildren;
        target.UseJournalLogging = UseJournalLogging;
        target.WatchMemoryPressure = WatchMemoryPressure;
        target.MemoryPressureMinimumInterval = MemoryPressureMinimumInterval;
        target.CompactOnMemoryPressure = CompactOnMemoryPressure;
    }
}
