using System.Diagnostics;

namespace SdDaemon.Tests.Support;

/// <summary>tests/SdDaemon.TestDaemon (built next to the tests) as a child process: for faults that are
/// process-wide (the environment, inherited descriptors, resource limits), which a test must not cause
/// in the test runner itself.</summary>
internal static class TestDaemonChild
{
    /// <summary>In the test daemon's own output directory (tests/SdDaemon.TestDaemon/bin/CONFIGURATION/TFM),
    /// which the test project builds first without copying it.</summary>
    public static string DllPath => Path.Combine(
        AppContext.BaseDirectory.Replace("/SdDaemon.Tests/bin/", "/SdDaemon.TestDaemon/bin/", StringComparison.Ordinal),
        "SdDaemon.TestDaemon.dll");

    public static string DotnetPath => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet"
        ? p
        : "/usr/bin/dotnet";

    /// <summary>Runs the steps; the exit code and stdout. Fails the test when it runs over a minute.</summary>
    public static (int ExitCode, string Output) Run(params string[] steps) => Run(new Dictionary<string, string?>(), steps);

    /// <summary>Runs the steps with these environment variables set (null: removed; NOTIFY_SOCKET is
    /// removed unless given).</summary>
    public static (int ExitCode, string Output) Run(IDictionary<string, string?> environment, params string[] steps)
    {
        var info = new ProcessStartInfo(DotnetPath, [DllPath, .. steps])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("NOTIFY_SOCKET");
        foreach ((string name, string? value) in environment)
        {
            info.Environment[name] = value;
        }

        using Process child = Process.Start(info)!;
        Task<string> output = child.StandardOutput.ReadToEndAsync();
        Task<string> errors = child.StandardError.ReadToEndAsync();
        if (!child.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            child.Kill();
            throw new TimeoutException("the test daemon did not exit within a minute");
        }

        return (child.ExitCode, output.Result + errors.Result);
    }
}
