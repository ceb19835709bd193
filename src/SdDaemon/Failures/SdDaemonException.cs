namespace SdDaemon;

/// <summary>
/// The one exception type of the library's failures that have a Linux errno: what every result's
/// <c>ThrowIfFailed</c> throws (<see cref="NotifyResult"/>, <see cref="ListenFdsResult"/>,
/// <see cref="CheckResult"/>, <see cref="WatchdogStatus"/>, <see cref="MemoryPressureWatchResult"/>,
/// SdDaemon.Logging's JournalSendResult), and the base of <see cref="NotifyException"/> and
/// <see cref="CredentialException"/>. Catch this type to handle them all.
/// </summary>
/// <remarks>The message names the libsystemd call or the operation, what was wrong, and the errno in the
/// form <c>errno 13: Permission denied</c>; <see cref="Exception.HResult"/> is the errno too.</remarks>
public class SdDaemonException : IOException
{
    /// <summary>An exception for a failure with a Linux errno (0 when there is none).</summary>
    /// <param name="message">What failed, and why.</param>
    /// <param name="errno">The Linux errno (for example 13 EACCES); 0 when the failure has none.</param>
    public SdDaemonException(string message, int errno)
        : this(message, errno, null)
    {
    }

    /// <summary>An exception for a failure with a Linux errno, caused by <paramref name="innerException"/>.</summary>
    /// <param name="message">What failed, and why.</param>
    /// <param name="errno">The Linux errno (for example 13 EACCES); 0 when the failure has none.</param>
    /// <param name="innerException">The exception behind this one, or null.</param>
    public SdDaemonException(string message, int errno, Exception? innerException)
        : base(message, innerException)
    {
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The Linux errno of the failure; 0 when it has none.</summary>
    public int Errno { get; }
}
