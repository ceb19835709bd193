namespace SdDaemon.DBus.Hosting;

/// <summary>Options of <see cref="Microsoft.Extensions.Hosting.SdDaemonBusExtensions.AddSdDaemonInhibitor"/>.</summary>
public sealed class SdDaemonInhibitorOptions
{
    /// <summary>What the delay lock holds back. Default shutdown and sleep.</summary>
    public InhibitWhat What { get; set; } = InhibitWhat.Shutdown | InhibitWhat.Sleep;

    /// <summary>Who holds it (shown by <c>systemd-inhibit --list</c>). Default the process name.</summary>
    public string Who { get; set; } = Environment.ProcessPath is { } path ? Path.GetFileName(path) : "dotnet";

    /// <summary>Why. Default "finishing work before shutdown or sleep".</summary>
    public string Why { get; set; } = "finishing work before shutdown or sleep";

    /// <summary>How much of InhibitDelayMaxSec= the handlers may use before their token is cancelled. Default 0.9.</summary>
    public double DelayShare { get; set; } = 0.9;
}
