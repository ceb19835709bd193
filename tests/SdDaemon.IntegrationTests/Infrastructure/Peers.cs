using Xunit;

namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>
/// Whether the real peers of shared/spec/REAL-PEERS.md can run here. A missing peer skips a test
/// with the reason, unless SDDAEMON_REQUIRE_PEERS=1 (set by .ci/run): then the test runs and fails.
/// </summary>
public static class Peers
{
    public const string RequireVariable = "SDDAEMON_REQUIRE_PEERS";

    public static bool Required => Environment.GetEnvironmentVariable(RequireVariable) == "1";

    /// <summary>Null when a systemd 252 user manager can be started here; otherwise why not.</summary>
    public static string? SystemdUnavailableReason { get; } = FindSystemdProblem();

    private static string? FindSystemdProblem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        foreach (string program in new[] { "/usr/lib/systemd/systemd", "/usr/bin/systemctl", "/usr/bin/systemd-run", "/usr/bin/unshare", "/usr/bin/nsenter" })
        {
            if (!File.Exists(program))
            {
                return $"{program} is not installed";
            }
        }

        if (Environment.UserName != "root")
        {
            return "the private mount namespace for systemd --user needs root";
        }

        return null;
    }

    /// <summary>Null when systemd can boot as PID 1 in a container here (systemd-nspawn, root,
    /// mmdebstrap for the root, built once by .ci/pid1-root); otherwise why not.</summary>
    public static string? Pid1UnavailableReason { get; } = FindPid1Problem();

    private static string? FindPid1Problem()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not Linux";
        }

        foreach (string program in new[] { "/usr/bin/systemd-nspawn", "/usr/bin/mmdebstrap", "/usr/bin/nsenter" })
        {
            if (!File.Exists(program))
            {
                return $"{program} is not installed (apt-get install systemd-container mmdebstrap)";
            }
        }

        return Environment.UserName == "root" ? null : "booting a container needs root";
    }

    public static string? ProgramMissing(string path) => File.Exists(path) ? null : $"{path} is not installed";
}

/// <summary>A test against the real systemd user manager: skipped with the reason where it cannot
/// run, but never skipped when <see cref="Peers.Required"/>.</summary>
public sealed class SystemdFactAttribute : FactAttribute
{
    public SystemdFactAttribute()
    {
        if (Peers.SystemdUnavailableReason is { } reason && !Peers.Required)
        {
            Skip = $"real systemd unavailable: {reason}";
        }
    }
}

/// <summary>A test against systemd as PID 1 in a container: skipped with the reason where no
/// container can boot here, but never skipped when <see cref="Peers.Required"/>.</summary>
public sealed class Pid1FactAttribute : FactAttribute
{
    public Pid1FactAttribute()
    {
        if (Peers.Pid1UnavailableReason is { } reason && !Peers.Required)
        {
            Skip = $"systemd as PID 1 unavailable: {reason}";
        }
    }
}

/// <summary>A test that needs one program (systemd-socket-activate, libsystemd, journald...).</summary>
public sealed class PeerFactAttribute : FactAttribute
{
    public PeerFactAttribute(string programPath)
    {
        if (!File.Exists(programPath) && !Peers.Required)
        {
            Skip = $"{programPath} is not installed";
        }
    }
}
