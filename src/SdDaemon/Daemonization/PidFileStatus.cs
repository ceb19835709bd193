using System.Globalization;

namespace SdDaemon.Daemonization;

/// <summary>Whether a daemon holds a PID file: the three answers of an LSB status action (0, 3, 4; spec D-21).</summary>
internal enum PidFileState
{
    /// <summary>No daemon holds it (no file, a stale file): LSB 3.</summary>
    NotRunning,

    /// <summary>A daemon holds it: LSB 0.</summary>
    Running,

    /// <summary>It cannot be told (the file cannot be opened or examined, or is not a regular file): LSB 4.</summary>
    Unknown,
}

/// <summary>What a PID file says: a running daemon's pid, or why none runs, or why that cannot be told (with the errno).</summary>
internal readonly record struct PidFileStatus(PidFileState State, int Pid, string Message, int Errno)
{
    public bool Running => State == PidFileState.Running;

    public static PidFileStatus RunningAt(int pid) => new(PidFileState.Running, pid, string.Create(CultureInfo.InvariantCulture, $"running as pid {pid}"), 0);

    public static PidFileStatus NotRunning(string why) => new(PidFileState.NotRunning, 0, why, 0);

    public static PidFileStatus Unknown(string why, int errno) => new(PidFileState.Unknown, 0, why, SdDaemon.Interop.Errno.ValidOrEIO(errno));
}
