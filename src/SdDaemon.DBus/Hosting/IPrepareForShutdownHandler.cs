namespace SdDaemon.DBus.Hosting;

/// <summary>
/// Work to do before the machine shuts down (logind's PrepareForShutdown(true)), while the host's
/// delay inhibitor lock holds the shutdown back; registered as a service and run by
/// <see cref="Microsoft.Extensions.Hosting.SdDaemonBusExtensions.AddSdDaemonInhibitor"/>.
/// </summary>
public interface IPrepareForShutdownHandler
{
    /// <summary>Runs when shutdown begins. <paramref name="cancellationToken"/> is cancelled shortly
    /// before InhibitDelayMaxSec= runs out (logind would proceed anyway); the lock is released when
    /// every handler returned.</summary>
    Task PrepareForShutdownAsync(CancellationToken cancellationToken);
}

/// <summary>Work to do before the machine sleeps and after it resumed (logind's PrepareForSleep).</summary>
public interface IPrepareForSleepHandler
{
    /// <summary>Runs before sleep, bounded like <see cref="IPrepareForShutdownHandler.PrepareForShutdownAsync"/>.</summary>
    Task PrepareForSleepAsync(CancellationToken cancellationToken);

    /// <summary>Runs after resume, once the delay lock has been taken again.</summary>
    Task ResumedAsync(CancellationToken cancellationToken);
}
