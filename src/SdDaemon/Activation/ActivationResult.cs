namespace SdDaemon;

/// <summary>What <see cref="ListenFds.Get(bool)"/> found: the three answers of sd_listen_fds(3).</summary>
public enum ActivationOutcome
{
    /// <summary>
    /// No descriptors were passed to this process: LISTEN_PID or LISTEN_FDS is unset, or LISTEN_PID
    /// (or LISTEN_PIDFDID) names another process. The normal case for a program started by hand;
    /// sd_listen_fds returns 0.
    /// </summary>
    NotActivated = 0,

    /// <summary>Descriptors were passed (sd_listen_fds returns their number).</summary>
    Activated = 1,

    /// <summary>A variable is malformed or a passed descriptor is not open; <see cref="ListenFdsResult.Errno"/>
    /// says which error (sd_listen_fds returns -errno).</summary>
    Failed = 2,
}
