namespace SdDaemon.Logging;

/// <summary>What happened to an entry sent with <see cref="JournalNativeWriter"/>.</summary>
public enum JournalSendOutcome
{
    /// <summary>journald is not running (its socket does not exist or nobody listens on it). Normal
    /// outside a systemd system; a logger falls back to stderr.</summary>
    NotListening = 0,

    /// <summary>The entry was queued to journald's socket (as a datagram, or through a sealed memfd).</summary>
    Sent = 1,

    /// <summary>Sending failed; <see cref="JournalSendResult.Errno"/> says why.</summary>
    Failed = 2,
}

/// <summary>The three-valued result of a native journal send, like libsystemd's return values.</summary>
public readonly record struct JournalSendResult
{
    internal JournalSendResult(JournalSendOutcome outcome, int errno)
    {
        Outcome = outcome;
        Errno = errno;
    }

    /// <summary>Not sent because journald is not there.</summary>
    public static JournalSendResult NotListening => new(JournalSendOutcome.NotListening, 0);

    /// <summary>Sent.</summary>
    public static JournalSendResult Sent => new(JournalSendOutcome.Sent, 0);

    /// <summary>What happened.</summary>
    public JournalSendOutcome Outcome { get; }

    /// <summary>The errno when <see cref="Outcome"/> is <see cref="JournalSendOutcome.Failed"/> (or the
    /// ENOENT/ECONNREFUSED behind <see cref="JournalSendOutcome.NotListening"/>); otherwise 0.</summary>
    public int Errno { get; }

    /// <summary>True when the entry was queued to journald.</summary>
    public bool IsSent => Outcome == JournalSendOutcome.Sent;

    /// <summary>True when sending failed.</summary>
    public bool IsFailed => Outcome == JournalSendOutcome.Failed;

    /// <summary>The errno and its text (<c>errno 90: Message too long</c>); null unless failed.</summary>
    public string? ErrorMessage => IsFailed ? SdDaemon.Interop.Errno.Describe(Errno) : null;

    /// <summary>Throws <see cref="SdDaemonException"/> if sending failed; returns this result otherwise.</summary>
    /// <exception cref="SdDaemonException">The result is <see cref="JournalSendOutcome.Failed"/>.</exception>
    public JournalSendResult ThrowIfFailed() =>
        IsFailed ? throw new SdDaemonException($"sd_journal_send failed: {ErrorMessage}", Errno) : this;

    internal static JournalSendResult Failure(int errno) => new(JournalSendOutcome.Failed, errno);

    internal static JournalSendResult Absent(int errno) => new(JournalSendOutcome.NotListening, errno);
}
