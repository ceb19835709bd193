namespace SdDaemon;

/// <summary>The three answers of a yes/no question libsystemd can fail to answer (sd_is_*, sd_booted).</summary>
public enum CheckOutcome
{
    /// <summary>No (libsystemd returns 0).</summary>
    No = 0,

    /// <summary>Yes (libsystemd returns a positive value).</summary>
    Yes = 1,

    /// <summary>The question could not be answered; <see cref="CheckResult.Errno"/> says why (libsystemd returns -errno).</summary>
    Failed = 2,
}

/// <summary>
/// Yes / no / failed with an errno: the result of the
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_is_fifo.html">sd_is_fifo(3)</see> family
/// (<see cref="DescriptorCheck"/>) and of <see href="https://www.freedesktop.org/software/systemd/man/sd_booted.html">sd_booted(3)</see>
/// (<see cref="ServiceManager.CheckBooted()"/>).
/// </summary>
public readonly struct CheckResult : IEquatable<CheckResult>
{
    private CheckResult(CheckOutcome outcome, int errno)
    {
        Outcome = outcome;
        Errno = errno;
    }

    /// <summary>The answer yes.</summary>
    public static CheckResult Yes { get; } = new(CheckOutcome.Yes, 0);

    /// <summary>The answer no.</summary>
    public static CheckResult No => default;

    /// <summary>No answer: failed with <paramref name="errno"/>.</summary>
    public static CheckResult Failure(int errno) => new(CheckOutcome.Failed, errno);

    /// <summary>Yes, no, or failed.</summary>
    public CheckOutcome Outcome { get; }

    /// <summary>The Linux errno of a failure (9 EBADF, 22 EINVAL, 20 ENOTDIR...); 0 otherwise.</summary>
    public int Errno { get; }

    /// <summary>True for yes.</summary>
    public bool IsYes => Outcome == CheckOutcome.Yes;

    /// <summary>True for a failure.</summary>
    public bool IsFailed => Outcome == CheckOutcome.Failed;

    /// <summary>The errno's text; null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? Interop.Errno.Describe(Errno) : null;

    /// <summary>The answer as a bool: true for yes, false for no.</summary>
    /// <exception cref="SdDaemonException">The check failed.</exception>
    public bool ThrowIfFailed() => IsFailed ? throw new SdDaemonException($"check failed: {ErrorMessage}", Errno) : IsYes;

    internal static CheckResult From(bool yes) => yes ? Yes : No;

    /// <inheritdoc />
    public bool Equals(CheckResult other) => Outcome == other.Outcome && Errno == other.Errno;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CheckResult other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Outcome, Errno);

    /// <summary>Equality of outcome and errno.</summary>
    public static bool operator ==(CheckResult left, CheckResult right) => left.Equals(right);

    /// <summary>Inequality of outcome and errno.</summary>
    public static bool operator !=(CheckResult left, CheckResult right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        CheckOutcome.Yes => "yes",
        CheckOutcome.No => "no",
        _ => $"failed: {ErrorMessage}",
    };
}
