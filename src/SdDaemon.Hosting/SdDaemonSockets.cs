using System.Net.Sockets;

namespace SdDaemon.Hosting;

/// <summary>The host's <see cref="ISdDaemonSockets"/>, over the descriptors <see cref="PassedDescriptors"/>
/// took (and owns: they outlive this view until the host is disposed).</summary>
internal sealed class SdDaemonSockets : ISdDaemonSockets
{
    private readonly SdDaemonNotifier _notifier;
    private readonly object _gate = new();

    public SdDaemonSockets(SdDaemonNotifier notifier, PassedDescriptors passed)
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
        Socket socket = TakeSocket(name) ?? bind();

        // Store it (again, when it was passed back): the manager keeps a duplicate and ignores one
        // it already holds (it compares open files), and systemd 252 was seen to drop a stored
        // listener once it had passed it to the next instance, so every instance stores it.
        // Without FileDescriptorStoreMax= the manager ignores the message, which costs nothing.
        _notifier.Notify(new Notification(NotifyState.FdStore, fdName) { Files = [socket.SafeHandle] });
        return socket;
    }
}
