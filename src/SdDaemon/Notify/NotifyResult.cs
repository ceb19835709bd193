namespace SdDaemon;

/// <summary>What became of a notification: the three answers libsystemd's sd_notify(3) gives.</summary>
public enum NotifyOutcome
{
    /// <summary>
    /// No service manager is listening (NOTIFY_SOCKET is unset): nothing was sent. This is the
    /// normal case for a program started by hand, not an error (sd_notify returns 0).
    /// </summary>
    NotListening = 0,

    /// <summary>
    /// The datagram was queued to the manager's socket (sd_notify returns a positive value). Sent
    /// is not accepted: the manager may still ignore it (for example FDSTORE=1 while the unit has
    /// FileDescriptorStoreMax=0, or a sender that NotifyAccess= does not allow).
    /// </summary>
    Sent = 1,

    /// <summary>Sending failed; <see cref="NotifyResult.Errno"/> says why (sd_notify returns -errno).</summary>
    Failed = 2,
}

/// <summary>
/// The result of <see cref="Notification.Send(bool)"/> and <see cref="Notification.Barrier"/>:
/// not listening / sent / failed with an errno, like the return value of sd_notify(3).
/// Failures are values, not exceptions, because a daemon must go on when its manager went away;
/// call <see cref="ThrowIfFailed"/> where a failure should stop the caller.
/// </summary>
public readonly struct NotifyResult : IEquatable<NotifyResult>
{
    private readonly string? _detail;

    private NotifyResult(NotifyOutcome outcome, int errno, string? detail)
    {
        Outcome = outcome;
        Errno = errno;
        _detail = detail;
    }

    /// <summary>The result when NOTIFY_SOCKET is unset.</summary>
    public static NotifyResult NotListening => default;

    /// <summary>The result of a datagram that was queued.</summary>
    public static NotifyResult Sent { get; } = new(NotifyOutcome.Sent, 0, null);

    /// <summary>Not listening, sent, or failed.</summary>
    public NotifyOutcome Outcome { get; }

    /// <summary>The Linux errno of a failure (for example 111 ECONNREFUSED, 110 ETIMEDOUT); 0 otherwise.</summary>
    public int Errno { get; }

    /// <summary>True when the message was queued to the manager's socket.</summary>
    public bool IsSent => Outcome == NotifyOutcome.Sent;

    /// <summary>True when sending failed.</summary>
    public bool IsFailed => Outcome == NotifyOutcome.Failed;

    /// <summary>A description of the failure (what was wrong, and the errno's text); null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? Interop.Errno.Describe(_detail, Errno) : null;

    /// <summary>A failure with <paramref name="errno"/> and an optional explanation of what was wrong.</summary>
    public static NotifyResult Failure(int errno, string? detail = null) => new(NotifyOutcome.Failed, errno, detail);

    /// <summary>Throws <see cref="NotifyException"/> if sending failed; returns this result otherwise.</summary>
    /// <exception cref="NotifyException">The result is <see cref="NotifyOutcome.Failed"/>.</exception>
    public NotifyResult ThrowIfFailed() => IsFailed ? throw new NotifyException(this) : this;

    /// <inheritdoc />
    public bool Equals(NotifyResult other) => Outcome == other.Outcome && Errno == other.Errno;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is NotifyResult other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Outcome, Errno);

    /// <summary>Equality of outcome and errno.</summary>
    public static bool operator ==(NotifyResult left, NotifyResult right) => left.Equals(right);

    /// <summary>Inequality of outcome and errno.</summary>
    public static bool operator !=(NotifyResult left, NotifyResult right) => !left.Equals(right);

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        NotifyOutcome.NotListening => "not listening (NOTIFY_SOCKET unset)",
        NotifyOutcome.Sent => "sent",
        _ => $"failed: {ErrorMessage}",
    };
}

/// <summary>Thrown by <see cref="NotifyResult.ThrowIfFailed"/>.</summary>
public sealed class NotifyException : SdDaemonException
{
    /// <summary>Creates the exception for a failed <paramref name="result"/>.</summary>
    public NotifyException(NotifyResult result)
        : base($"sd_notify failed: {result.ErrorMessage}", result.Errno)
    {
        Result = result;
    }

    /// <summary>The failed result.</summary>
    public NotifyResult Result { get; }
}
