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

    /// <summary>The first line of the file at <paramref name="path"/> (a test daemon's output) that starts with
    /// <paramref name="prefix"/>, waiting up to <paramref name="patience"/> for it.</summary>
    public static string WaitForLine(string path, string prefix, TimeSpan patience)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (stopwatch.Elapsed < patience)
        {
            if (File.Exists(path) && File.ReadAllLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"no line '{prefix}...' in {path}: {(File.Exists(path) ? File.ReadAllText(path) : "(missing)")}");
    }
}
