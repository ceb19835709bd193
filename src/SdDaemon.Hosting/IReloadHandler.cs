namespace SdDaemon.Hosting;

/// <summary>
/// Application code that runs on reload (SIGHUP, <c>systemctl reload</c>), after configuration was
/// reloaded and before READY=1 tells the manager the reload is done. Register with
/// <c>services.AddSingleton&lt;IReloadHandler, MyHandler&gt;()</c>.
/// </summary>
public interface IReloadHandler
{
    /// <summary>Re-reads whatever the application must; an exception is logged and reported in STATUS=.</summary>
    Task ReloadAsync(CancellationToken cancellationToken);
}
