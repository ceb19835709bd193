using SdDaemon.Varlink;

namespace SdDaemon.Hosting.Varlink;

/// <summary>Options of <see cref="Microsoft.Extensions.Hosting.SdDaemonVarlinkExtensions.AddSdDaemonVarlink"/>.</summary>
public sealed class SdDaemonVarlinkOptions
{
    /// <summary>What <c>varlinkctl info</c> shows and the server's limits.</summary>
    public VarlinkServerOptions Server { get; } = new();

    /// <summary>
    /// Where to bind the socket when the manager passes none named <see cref="VarlinkListener.FileDescriptorName"/>.
    /// Default null: <c>$RUNTIME_DIRECTORY/</c> and the name of the first interface the application
    /// added (as systemd names its own, e.g. /run/systemd/io.systemd.Hostname), or
    /// <c>io.systemd.service</c> when it added none; without RuntimeDirectory= nothing is bound and
    /// the server does not run.
    /// </summary>
    public string? SocketPath { get; set; }

    /// <summary>
    /// When the library bound the socket itself, link each interface the application added (not
    /// io.systemd.service or org.varlink.service, which every service has) in the Varlink registry
    /// (<see cref="VarlinkListener.RegistryDirectory"/>), and remove the links at stop. A socket unit
    /// makes its links with <c>Symlinks=</c> instead. Default true.
    /// </summary>
    public bool Register { get; set; } = true;
}
