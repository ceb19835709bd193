using System.Net.Sockets;
using System.Runtime.Versioning;

namespace SdDaemon.Hosting;

/// <summary>
/// The sockets the manager passed to the host (socket activation and the fd store,
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html">sd_listen_fds(3)</see>),
/// by name, and the zero-downtime pattern built on them: take a passed listener, or bind one and
/// keep a copy in the manager's fd store so the next instance takes it over without closing it.
/// The descriptors are read once at start-up with LISTEN_* removed from the environment and
/// FD_CLOEXEC set, so children the application starts neither inherit them nor see the variables.
/// </summary>
public interface ISdDaemonSockets
{
    /// <summary>What the manager passed (empty when not socket-activated; failed with the errno for malformed LISTEN_*).</summary>
    ListenFdsResult Passed { get; }

    /// <summary>The first passed socket named <paramref name="name"/> that nobody took yet, as a <see cref="Socket"/>; null if none.</summary>
    [SupportedOSPlatform("linux")]
    Socket? TakeSocket(string name);

    /// <summary>
    /// A listening socket for <paramref name="name"/>: the one passed under that name (a socket unit's
    /// FileDescriptorName=, or the fd store), otherwise <paramref name="bind"/>'s, which is then sent to the
    /// fd store (FDSTORE=1, FDNAME=<paramref name="name"/>; needs FileDescriptorStoreMax=1 or more), so that
    /// a restart takes it over and refuses no connection. A passed socket is not stored again (the manager
    /// holds it already), and any other passed descriptor for the same socket is closed. A bound one is
    /// stored when <c>$FDSTORE</c> (systemd 254+) is above 0 or unset (a manager before 254 does not say);
    /// <c>$FDSTORE=0</c> sends nothing (docs/protocol.md, FS-1..FS-3).
    /// </summary>
    /// <remarks>The returned <see cref="Socket"/> owns the descriptor; close it when the application stops
    /// listening. With Kestrel, do not pass only the number to <c>ListenHandle</c>: Kestrel wraps it
    /// without owning it and never closes it, so the port would keep taking connections into its backlog
    /// all through the shutdown. Give Kestrel this object through
    /// <c>SocketTransportOptions.CreateBoundListenSocket</c> as well (examples/WebApp shows how); its
    /// unbind then closes it.</remarks>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid FDNAME.</exception>
    [SupportedOSPlatform("linux")]
    Socket GetOrBind(string name, Func<Socket> bind);
}
