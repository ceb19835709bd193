using System.Net.Sockets;

namespace SdDaemon.Hosting;

/// <summary>The host's <see cref="ISdDaemonSockets"/>, over the descriptors <see cref="PassedDescriptors"/>
/// took (and owns: they outlive this view until the host is disposed).</summary>
internal sealed class SdDaemonSockets : ISdDaemonSockets
{
    private readonly ISdDaemonNotifier _notifier;
    private readonly object _gate = new();

    public SdDaemonSockets(ISdDaemonNotifier notifier, PassedDescriptors passed)
    {
        _notifier = notifier;
        Passed = passed.Result;
    }

    public ListenFdsResult Passed { get; }

    public Socket? TakeSocket(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            foreach (ListenFd fd in Passed.WithName(name))
            {
                if (!fd.IsTaken)
                {
                    return fd.ToSocket();
                }
            }

            return null;
        }
    }

    public Socket GetOrBind(string name, Func<Socket> bind)
    {
        ArgumentNullException.ThrowIfNull(bind);
        NotifyState fdName = NotifyState.FdName(name); // validates before anything else
        lock (_gate)
        {
            foreach (ListenFd fd in Passed.WithName(name))
            {
                if (!fd.IsTaken)
                {
                    // Spec FS-2: passed, so the manager holds it already (a socket unit or the fd store);
                    // storing it again would only make PID 1 log that the store is full and close the copy.
                    Socket passed = fd.ToSocket();
                    CloseDuplicatesOf(fd);
                    return passed;
                }
            }
        }

        Socket socket = bind();
        // Spec FS-1: systemd 254+ says the store's size in $FDSTORE when there is one. Unset cannot be
        // told from a manager before 254, which never says: a listener we bound is offered then (once per
        // start; a manager without a store refuses it with a log line). $FDSTORE=0 (Environment=FDSTORE=0
        // where the manager does not set it) or not a number: nothing is sent.
        if (StoreSize is null or > 0)
        {
            _notifier.Notify(new Notification(NotifyState.FdStore, fdName) { Files = [socket.SafeHandle] });
        }

        return socket;
    }

    /// <summary>$FDSTORE as a number (see <see cref="EnvironmentVariables.FdStore"/>): null when unset, 0 when not a number.</summary>
    internal static int? StoreSize =>
        System.Environment.GetEnvironmentVariable(EnvironmentVariables.FdStore) is not { } text ? null
        : int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int size) ? size : 0;

    /// <summary>Spec FS-3: other passed numbers for the same socket (a socket unit's listener that an older
    /// instance also stored) would stay open, unused, for the life of the process: close them.</summary>
    private void CloseDuplicatesOf(ListenFd taken)
    {
        foreach (ListenFd other in Passed)
        {
            if (other.Fd != taken.Fd && !other.IsTaken && other.IsSameFile(taken))
            {
                other.Dispose();
            }
        }
    }
}
