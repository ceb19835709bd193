namespace SdDaemon;

/// <summary>
/// The directories systemd creates and owns for a service (see
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#RuntimeDirectory=">systemd.exec(5), RuntimeDirectory= ... ConfigurationDirectory=</see>).
/// </summary>
public enum ServiceDirectoryKind
{
    /// <summary>RuntimeDirectory= (under /run or $XDG_RUNTIME_DIR), in <c>$RUNTIME_DIRECTORY</c>; removed when the service stops unless RuntimeDirectoryPreserve=.</summary>
    Runtime,

    /// <summary>StateDirectory= (under /var/lib or ~/.local/state), in <c>$STATE_DIRECTORY</c>: data that must survive restarts.</summary>
    State,

    /// <summary>CacheDirectory= (under /var/cache or ~/.cache), in <c>$CACHE_DIRECTORY</c>: data that may be lost.</summary>
    Cache,

    /// <summary>LogsDirectory= (under /var/log or ~/.local/state/log), in <c>$LOGS_DIRECTORY</c>.</summary>
    Logs,

    /// <summary>ConfigurationDirectory= (under /etc or ~/.config), in <c>$CONFIGURATION_DIRECTORY</c>; not made writable for the service.</summary>
    Configuration,
}
