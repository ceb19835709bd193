using Tmds.DBus.Protocol;

namespace SdDaemon.DBus.Hosting;

/// <summary>The host's bus connection and name, injectable (registered by
/// <see cref="Microsoft.Extensions.Hosting.SdDaemonBusExtensions.AddSdDaemonBus"/>).</summary>
public interface ISdDaemonBus
{
    /// <summary>The connection; available from the hosted services' StartAsync on (it is opened in StartingAsync).</summary>
    /// <exception cref="InvalidOperationException">Before the host started.</exception>
    DBusConnection Connection { get; }

    /// <summary>The owned name once the host has started; null before, or without <see cref="SdDaemonBusOptions.BusName"/>.</summary>
    BusName? Name { get; }
}
