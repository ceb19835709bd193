namespace SdDaemon;

/// <summary>What became of <see cref="MemoryPressureWatch.Start(Action, TimeSpan)"/>.</summary>
public enum MemoryPressureWatchOutcome
{
    /// <summary>
    /// There is nothing to watch: <c>$MEMORY_PRESSURE_WATCH</c> is unset (no MemoryPressureWatch=,
    /// systemd before 254, no manager), set to <c>/dev/null</c> or empty (disabled), or the kernel
    /// refuses PSI triggers. Normal, not an error (spec M-1).
    /// </summary>
    NotAvailable = 0,

    /// <summary>The trigger is armed and the watch runs; see <see cref="MemoryPressureWatchResult.Watch"/>.</summary>
    Watching = 1,

    /// <summary>The variables are malformed or point nowhere; <see cref="MemoryPressureWatchResult.Errno"/> says why (spec M-2).</summary>
    Failed = 2,
}

/// <summary>The result of starting a memory pressure watch: not available / watching / failed with an errno.</summary>
public sealed class MemoryPressureWatchResult
{
    internal MemoryPressureWatchResult(MemoryPressureWatchOutcome outcome, int errno, string message, MemoryPressureWatch? watch)
    {
        Outcome = outcome;
        Errno = errno;
        Message = message;
        Watch = watch;
    }

    /// <summary>Not available, watching, or failed.</summary>
    public MemoryPressureWatchOutcome Outcome { get; }

    /// <summary>The Linux errno of a failure or of the kernel's refusal (for example 2 ENOENT, 95 EOPNOTSUPP); 0 otherwise.</summary>
    public int Errno { get; }

    /// <summary>What happened, for a log line: the path watched, or why there is no watch (with the errno's
    /// text where there is one).</summary>
    public string Message { get; }

    /// <summary>True when the variables are malformed or point nowhere.</summary>
    public bool IsFailed => Outcome == MemoryPressureWatchOutcome.Failed;

    /// <summary>What was wrong, with the errno's text; null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? Message : null;

    /// <summary>Throws <see cref="SdDaemonException"/> when failed; returns this result otherwise.</summary>
    /// <exception cref="SdDaemonException">The result is <see cref="MemoryPressureWatchOutcome.Failed"/>.</exception>
    public MemoryPressureWatchResult ThrowIfFailed() =>
        IsFailed ? throw new SdDaemonException($"memory pressure watch failed: {Message}", Errno) : this;

    /// <summary>The running watch when <see cref="Outcome"/> is <see cref="MemoryPressureWatchOutcome.Watching"/>; dispose it to stop.</summary>
    public MemoryPressureWatch? Watch { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Outcome}: {Message}";
}
