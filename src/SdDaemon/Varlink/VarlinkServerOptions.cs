namespace SdDaemon.Varlink;

/// <summary>Options of a <see cref="VarlinkServer"/>: what <c>varlinkctl info</c> shows, and its limits.</summary>
public sealed class VarlinkServerOptions
{
    /// <summary>The vendor <c>org.varlink.service.GetInfo</c> reports. Default empty.</summary>
    public string Vendor { get; set; } = "";

    /// <summary>The product <c>GetInfo</c> reports. Default: the entry assembly's name.</summary>
    public string Product { get; set; } = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "";

    /// <summary>The version <c>GetInfo</c> reports. Default: the entry assembly's version.</summary>
    public string Version { get; set; } = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Version?.ToString() ?? "";

    /// <summary>The URL <c>GetInfo</c> reports. Default empty.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// The largest message (JSON text without its NUL) a client may send; a longer one closes its
    /// connection. Default 16 MiB, sd-varlink's VARLINK_BUFFER_MAX.
    /// </summary>
    public int MessageMax { get; set; } = VarlinkWire.DefaultMessageMax;

    /// <summary>Connections served at once; one more is closed as soon as it is accepted. Default 4096,
    /// sd-varlink's VARLINK_DEFAULT_CONNECTIONS_MAX.</summary>
    public int ConnectionsMax { get; set; } = 4096;

    /// <summary>How long a reply may wait for the client to read it before the connection is closed.
    /// Default 45 seconds, sd-varlink's VARLINK_DEFAULT_TIMEOUT_USEC.</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(45);
}
