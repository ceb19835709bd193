namespace SdDaemon.Hosting;

/// <summary>
/// The descriptors the manager passed (sd_listen_fds(3)), taken once for the host: LISTEN_PID,
/// LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PIDFDID removed from the .NET environment and every passed
/// descriptor made FD_CLOEXEC and owned here (closed when the host is disposed, unless the application
/// took it), so that child processes the application starts inherit neither. Made when the host starts
/// (<see cref="PassedDescriptorsCapture"/>), whether or not anything resolves <see cref="ISdDaemonSockets"/>,
/// or earlier by the first that does.
/// </summary>
internal sealed class PassedDescriptors : IDisposable
{
    public PassedDescriptors()
    {
        Result = OperatingSystem.IsLinux()
            ? ListenFds.Get(unsetEnvironment: true)
            : ListenFdsResult.NotActivated;
    }

    public ListenFdsResult Result { get; }

    public void Dispose() => Result.Dispose();
}
