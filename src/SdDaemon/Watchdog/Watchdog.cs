using System.Runtime.Versioning;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>What <see cref="Watchdog.Check(bool)"/> found: the three answers of sd_watchdog_enabled(3).</summary>
public enum WatchdogOutcome
{
    /// <summary>No watchdog for this process: WATCHDOG_USEC is unset, or WATCHDOG_PID names another
    /// process (sd_watchdog_enabled returns 0).</summary>
    Disabled = 0,

    /// <summary>The manager expects keep-alive pings within <see cref="WatchdogStatus.Timeout"/> (a positive return).</summary>
    Enabled = 1,

    /// <summary>A variable is malformed; <see cref="WatchdogStatus.Errno"/> says which error (-errno).</summary>
    Failed = 2,
}

/// <summary>The result of <see cref="Watchdog.Check(bool)"/>: disabled, enabled with a timeout, or failed with an errno.</summary>
public readonly struct WatchdogStatus : IEquatable<WatchdogStatus>
{
    private readonly string? _detail;

    internal WatchdogStatus(WatchdogOutcome outcome, ulong microseconds, int errno, string? detail)
    {
        Outcome = outcome;
        TimeoutMicroseconds = microseconds;
        Errno = errno;
        _detail = detail;
    }

    /// <summary>Disabled, enabled, or failed.</summary>
    public WatchdogOutcome Outcome { get; }

    /// <summary>True when the manager expects pings.</summary>
    public bool IsEnabled => Outcome == WatchdogOutcome.Enabled;

    /// <summary>True when a variable was malformed.</summary>
    public bool IsFailed => Outcome == WatchdogOutcome.Failed;

    /// <summary>The timeout in microseconds, exactly as WATCHDOG_USEC gave it; 0 unless enabled.</summary>
    public ulong TimeoutMicroseconds { get; }

    /// <summary>The timeout; <see cref="TimeSpan.Zero"/> unless enabled; <see cref="TimeSpan.MaxValue"/> if it does not fit.</summary>
    public TimeSpan Timeout => TimeoutMicroseconds > (ulong)(TimeSpan.MaxValue.Ticks / 10)
        ? TimeSpan.MaxValue
        : TimeSpan.FromTicks((long)TimeoutMicroseconds * 10);

    /// <summary>The Linux errno of a failure (22 EINVAL, 34 ERANGE); 0 otherwise.</summary>
    public int Errno { get; }

    /// <summary>What was wrong, with the errno's text; null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? Interop.Errno.Describe(_detail, Errno) : null;

    /// <summary>Throws <see cref="SdDaemonException"/> when a variable was malformed; returns this status otherwise.</summary>
    /// <exception cref="SdDaemonException">The status is <see cref="WatchdogOutcome.Failed"/>.</exception>
    public WatchdogStatus ThrowIfFailed() =>
        IsFailed ? throw new SdDaemonException($"sd_watchdog_enabled failed: {ErrorMessage}", Errno) : this;

    /// <inheritdoc />
    public bool Equals(WatchdogStatus other) =>
        Outcome == other.Outcome && TimeoutMicroseconds == other.TimeoutMicroseconds && Errno == other.Errno;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is WatchdogStatus other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Outcome, TimeoutMicroseconds, Errno);

    /// <summary>Equality of outcome, timeout and errno.</summary>
    public static bool operator ==(WatchdogStatus left, WatchdogStatus right) => left.Equals(right);

    /// <summary>Inequality of outcome, timeout and errno.</summary>
    public static bool operator !=(WatchdogStatus left, WatchdogStatus right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        WatchdogOutcome.Disabled => "disabled",
        WatchdogOutcome.Enabled => $"enabled, {TimeoutMicroseconds} us",
        _ => $"failed: {ErrorMessage}",
    };
}

/// <summary>
/// The service watchdog: whether the manager expects keep-alive pings
/// (<see href="https://www.freedesktop.org/software/systemd/man/sd_watchdog_enabled.html">sd_watchdog_enabled(3)</see>),
/// and a keep-alive that sends them (<c>WATCHDOG=1</c>, <see href="https://www.freedesktop.org/software/systemd/man/sd_notify.html">sd_notify(3)</see>).
/// </summary>
/// <example>
/// <code>
/// using WatchdogKeepAlive? keeper = Watchdog.StartKeepAliveIfEnabled(isHealthy: () => queue.IsMoving);
/// </code>
/// </example>
public static class Watchdog
{
    /// <summary>
    /// sd_watchdog_enabled(3), spec W-1..W-3: WATCHDOG_USEC unset is disabled; malformed is EINVAL or
    /// ERANGE; 0 and 18446744073709551615 (infinity) are EINVAL; WATCHDOG_PID, when present, must be
    /// this process (another pid is disabled, a malformed one an error).
    /// </summary>
    /// <param name="unsetEnvironment">Remove WATCHDOG_USEC and WATCHDOG_PID from the .NET process
    /// environment on every path, so that child processes do not inherit them (native getenv still sees them).</param>
    [SupportedOSPlatform("linux")]
    public static WatchdogStatus Check(bool unsetEnvironment = false) =>
        OperatingSystem.IsLinux()
            ? Check(ProcessEnvironmentSource.Instance, System.Environment.ProcessId, unsetEnvironment)
            : default;

    /// <summary>
    /// True when the manager expects keep-alive pings from this process, with the <paramref name="timeout"/>
    /// within which each must arrive. False when disabled and when the variables are malformed (use
    /// <see cref="Check(bool)"/> to tell those apart).
    /// </summary>
    /// <param name="timeout">The watchdog timeout; <see cref="TimeSpan.Zero"/> when false.</param>
    /// <param name="unsetEnvironment">See <see cref="Check(bool)"/>.</param>
    [SupportedOSPlatform("linux")]
    public static bool Enabled(out TimeSpan timeout, bool unsetEnvironment = false)
    {
        WatchdogStatus status = Check(unsetEnvironment);
        timeout = status.Timeout;
        return status.IsEnabled;
    }

    /// <summary>
    /// Starts a <see cref="WatchdogKeepAlive"/> for <paramref name="timeout"/>: a dedicated thread that
    /// sends WATCHDOG=1 at once and then every half of the timeout, while <paramref name="isHealthy"/>
    /// (if given) says true.
    /// The pings go at least 10 ms apart, and never wait in the send for room (see <see cref="WatchdogKeepAlive"/>).
    /// </summary>
    /// <param name="timeout">The watchdog timeout (from <see cref="Enabled"/>).</param>
    /// <param name="isHealthy">Asked before each ping; false or an exception means no ping, so a wedged
    /// daemon is killed and restarted by the manager. It runs on the keep-alive thread: keep it quick.</param>
    /// <param name="channel">Where to send; <see cref="NotifyChannel.Default"/> (NOTIFY_SOCKET) when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="SdDaemonException">The keep-alive thread could not be started: errno 24 (EMFILE)
    /// or 23 (ENFILE) when no file descriptor is free, 11 (EAGAIN) when no thread can be made; the
    /// message says which. Nothing was sent.</exception>
    [SupportedOSPlatform("linux")]
    public static WatchdogKeepAlive StartKeepAlive(TimeSpan timeout, Func<bool>? isHealthy = null, NotifyChannel? channel = null) =>
        WatchdogKeepAlive.Start(timeout, isHealthy, channel ?? NotifyChannel.Default);

    /// <summary>
    /// <see cref="StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/> that sends through
    /// <paramref name="send"/> instead of a channel: each WATCHDOG=1 ping, and
    /// <see cref="WatchdogKeepAlive.ChangeTimeout"/>'s WATCHDOG_USEC=. For a notifier of your own (SdDaemon.Hosting passes its <c>ISdDaemonNotifier</c>).
    /// </summary>
    /// <param name="timeout">The watchdog timeout (from <see cref="Enabled"/>).</param>
    /// <param name="isHealthy">See <see cref="StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/>.</param>
    /// <param name="send">Called on the keep-alive thread for every ping. It should not wait long: a
    /// result with errno 11 (EAGAIN) is tried again after 5, 10, 20... (at most 100) ms until the next
    /// ping is due, and Dispose waits for a send in progress. An exception is recorded in
    /// <see cref="WatchdogKeepAlive.LastResult"/> and the thread goes on.</param>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    /// <exception cref="SdDaemonException">See <see cref="StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/>.</exception>
    [SupportedOSPlatform("linux")]
    public static WatchdogKeepAlive StartKeepAlive(TimeSpan timeout, Func<bool>? isHealthy, Func<Notification, NotifyResult> send)
    {
        ArgumentNullException.ThrowIfNull(send);
        return WatchdogKeepAlive.Start(timeout, isHealthy, send);
    }

    /// <summary>
    /// <see cref="StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/> with the timeout from the environment when <see cref="Check(bool)"/>
    /// says enabled; null when disabled or malformed (nothing to keep alive). <c>using</c> accepts null.
    /// </summary>
    /// <exception cref="SdDaemonException">See <see cref="StartKeepAlive(TimeSpan, Func{bool}?, NotifyChannel?)"/>.</exception>
    [SupportedOSPlatform("linux")]
    public static WatchdogKeepAlive? StartKeepAliveIfEnabled(Func<bool>? isHealthy = null, bool unsetEnvironment = false)
    {
        WatchdogStatus status = Check(unsetEnvironment);
        return status.IsEnabled ? StartKeepAlive(status.Timeout, isHealthy) : null;
    }

    /// <summary>The worker of <see cref="Check(bool)"/>.</summary>
    internal static WatchdogStatus Check(IEnvironmentSource environment, int ownPid, bool unsetEnvironment)
    {
        try
        {
            return CheckCore(environment, ownPid);
        }
        finally
        {
            // Spec W-3: both, on every path.
            if (unsetEnvironment)
            {
                environment.Remove(EnvironmentVariables.WatchdogUsec);
                environment.Remove(EnvironmentVariables.WatchdogPid);
            }
        }
    }

    private static WatchdogStatus CheckCore(IEnvironmentSource environment, int ownPid)
    {
        string? usecText = environment.Get(EnvironmentVariables.WatchdogUsec);
        if (usecText is null)
        {
            return default;
        }

        int error = SystemdNumber.TryParseUInt64(usecText, out ulong usec);
        if (error != 0)
        {
            return new WatchdogStatus(WatchdogOutcome.Failed, 0, error, $"WATCHDOG_USEC='{usecText}' is not a number");
        }

        if (usec == 0 || usec == ulong.MaxValue)
        {
            return new WatchdogStatus(WatchdogOutcome.Failed, 0, Errno.EINVAL, $"WATCHDOG_USEC={usec} is not a timeout (0 and infinity are not)");
        }

        string? pidText = environment.Get(EnvironmentVariables.WatchdogPid);
        if (pidText is not null)
        {
            error = SystemdNumber.TryParsePid(pidText, out int pid);
            if (error != 0)
            {
                return new WatchdogStatus(WatchdogOutcome.Failed, 0, error, $"WATCHDOG_PID='{pidText}' is not a valid pid");
            }

            if (pid != ownPid)
            {
                return default;
            }
        }

        return new WatchdogStatus(WatchdogOutcome.Enabled, usec, 0, null);
    }
}
