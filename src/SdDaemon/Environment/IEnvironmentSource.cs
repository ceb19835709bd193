namespace SdDaemon.Environ;

/// <summary>
/// The one seam through which the library reads and unsets environment variables, so that the
/// parsing of NOTIFY_SOCKET, LISTEN_* and WATCHDOG_* is unit-testable without touching the
/// process environment.
/// </summary>
internal interface IEnvironmentSource
{
    string? Get(string name);

    void Remove(string name);
}

/// <summary>
/// The process environment as .NET sees it. On Unix that is a managed copy made at start-up:
/// removing a variable here changes what <see cref="System.Diagnostics.Process"/> children
/// inherit and what later reads in this process see, but not the native environment that
/// native code (getenv) reads.
/// </summary>
internal sealed class ProcessEnvironmentSource : IEnvironmentSource
{
    public static readonly ProcessEnvironmentSource Instance = new();

    private ProcessEnvironmentSource()
    {
    }

    // Note: every read returns a new string (measured on .NET 10: 80 bytes for a typical
    // NOTIFY_SOCKET), which is why NotifyChannel.Default does not read on every send.
    public string? Get(string name) => System.Environment.GetEnvironmentVariable(name);

    public void Remove(string name) => System.Environment.SetEnvironmentVariable(name, null);
}
