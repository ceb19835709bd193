using Xunit;

namespace SdDaemon.Tests.Support;

/// <summary>
/// The unit tests' small copy of the integration tests' Peers: whether python3 and libsystemd.so.0
/// (the differential tests' oracle) are here. A missing one skips the test visibly, with the reason,
/// unless SDDAEMON_REQUIRE_PEERS=1 (set by .ci/run): then the test runs and fails.
/// </summary>
internal static class LibsystemdPeer
{
    public const string RequireVariable = "SDDAEMON_REQUIRE_PEERS";
    public const string Python = "/usr/bin/python3";

    private static readonly string[] s_libsystemdPaths =
    [
        "/usr/lib/x86_64-linux-gnu/libsystemd.so.0",
        "/usr/lib/aarch64-linux-gnu/libsystemd.so.0",
        "/lib/x86_64-linux-gnu/libsystemd.so.0",
        "/lib/aarch64-linux-gnu/libsystemd.so.0",
        "/usr/lib64/libsystemd.so.0",
        "/usr/lib/libsystemd.so.0",
    ];

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Null when python3 and libsystemd.so.0 are installed; otherwise what is missing.</summary>
    public static string? MissingReason { get; } = FindProblem();

    private static string? FindProblem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        if (!File.Exists(Python))
        {
            return $"{Python} is not installed";
        }

        return Array.Exists(s_libsystemdPaths, File.Exists) ? null : "libsystemd.so.0 (libsystemd0) is not installed";
    }
}

/// <summary>A test that asks libsystemd through python3: skipped with the reason where they are
/// missing, never skipped (so it fails) when SDDAEMON_REQUIRE_PEERS=1.</summary>
public sealed class LibsystemdFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> at discovery time when a prerequisite is missing.</summary>
    public LibsystemdFactAttribute()
    {
        if (LibsystemdPeer.MissingReason is { } reason && !LibsystemdPeer.Required)
        {
            Skip = $"libsystemd differential peer unavailable: {reason} (set {LibsystemdPeer.RequireVariable}=1 to fail instead)";
        }
    }
}
