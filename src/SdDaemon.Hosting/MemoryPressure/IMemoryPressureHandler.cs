namespace SdDaemon.Hosting;

/// <summary>
/// Application code that sheds memory when the unit is under memory pressure (MemoryPressureWatch=,
/// <see href="https://systemd.io/MEMORY_PRESSURE/">systemd.io/MEMORY_PRESSURE</see>), before the
/// host's own garbage collection with compaction. Register with
/// <c>services.AddSingleton&lt;IMemoryPressureHandler, MyHandler&gt;()</c>; for example compact a
/// MemoryCache with <c>cache.Compact(0.5)</c>. Runs on the watch's thread; keep it short.
/// </summary>
public interface IMemoryPressureHandler
{
    /// <summary>Releases what the application can rebuild; an exception is logged and the others still run.</summary>
    void OnMemoryPressure();
}
