using Microsoft.Win32.SafeHandles;
using SdDaemon.Daemonization;

namespace SdDaemon;

/// <summary>
/// What the daemon holds after <see cref="Daemon.Start"/>: the kept descriptors, the captured
/// output, the locked PID file. Dispose it (or just exit: it is disposed on process exit) to remove
/// the PID file and release its lock (<see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see>).
/// </summary>
public sealed class DaemonContext : IDisposable
{
    private readonly PidFile? _pidFile;
    private int _disposed;

    internal DaemonContext(IReadOnlyList<SafeFileHandle> keptFiles, Stream? capturedOutput, PidFile? pidFile)
    {
        KeptFiles = keptFiles;
        CapturedOutput = capturedOutput;
        _pidFile = pidFile;
    }

    /// <summary>The descriptors of <see cref="DaemonOptions.KeepFiles"/>, in that order, with the same numbers (close-on-exec again).</summary>
    public IReadOnlyList<SafeFileHandle> KeptFiles { get; }

    /// <summary>With <see cref="DaemonOutput.Capture"/>: what the daemon (and its children) write to stdout and stderr. Otherwise null.</summary>
    public Stream? CapturedOutput { get; }

    /// <summary>The absolute path of the locked PID file, or null.</summary>
    public string? PidFile => _pidFile?.Path;

    /// <summary>Removes the PID file (best effort after chroot or a privilege drop that lost write access to its directory) and releases its lock.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _pidFile?.Dispose();
        }
    }
}
