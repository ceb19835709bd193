namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>How to start tests/SdDaemon.TestDaemon (built next to the tests) from a unit.</summary>
public static class TestDaemon
{
    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "SdDaemon.TestDaemon.dll");

    public static string DotnetPath => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet"
        ? p
        : "/usr/bin/dotnet";

    /// <summary>The command line (for systemd-run) that runs the test daemon with the given steps.</summary>
    public static string[] Command(params string[] steps) => [DotnetPath, DllPath, .. steps];

    public static string UniqueUnit(string prefix) => $"sdd-{prefix}-{Guid.NewGuid().ToString("N")[..8]}";
}
