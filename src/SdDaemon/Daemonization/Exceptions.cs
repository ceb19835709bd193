namespace SdDaemon;

/// <summary>A second instance: the PID file is locked by a running daemon (daemon(7) step 12).</summary>
public sealed class DaemonAlreadyRunningException : InvalidOperationException
{
    /// <summary>A daemon holding <paramref name="pidFile"/> runs as <paramref name="pid"/> (0 when it cannot be identified).</summary>
    public DaemonAlreadyRunningException(string pidFile, int pid)
        : base(pid > 0
            ? $"already running as pid {pid} (PID file '{pidFile}' is locked)"
            : $"already running (PID file '{pidFile}' is locked by a process that cannot be identified)")
    {
        PidFile = pidFile;
        Pid = pid;
    }

    /// <summary>The PID file.</summary>
    public string PidFile { get; }

    /// <summary>The running daemon's pid, 0 when unknown.</summary>
    public int Pid { get; }
}

/// <summary>No daemon holds the PID file (<see cref="DaemonControl"/>).</summary>
public sealed class DaemonNotRunningException : InvalidOperationException
{
    /// <summary>Why no daemon is considered running.</summary>
    public DaemonNotRunningException(string message)
        : base(message)
    {
    }
}
