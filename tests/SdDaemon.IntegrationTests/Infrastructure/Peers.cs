using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

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

/// <summary>
/// A test written once against <see cref="IRealManager"/> and run by one sealed subclass per
/// manager of the matrix: skipped where the manager its class runs under (the 252 user manager, or
/// systemd as PID 1 when the class's constructor takes a <see cref="Pid1Container"/>) cannot run
/// here, never skipped when <see cref="Peers.Required"/>.
/// </summary>
[XunitTestCaseDiscoverer("SdDaemon.IntegrationTests.Infrastructure.RealManagerFactDiscoverer", "SdDaemon.IntegrationTests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class RealManagerFactAttribute : FactAttribute;

/// <summary>Finds <see cref="RealManagerFactAttribute"/> tests; their skip reason depends on the
/// test class, which a plain attribute cannot see.</summary>
public sealed class RealManagerFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        new RealManagerTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
}

/// <summary>A test case skipped with the reason its class's manager is unavailable.</summary>
public sealed class RealManagerTestCase : XunitTestCase
{
    [Obsolete("Called by the de-serializer only.")]
    public RealManagerTestCase()
    {
    }

    public RealManagerTestCase(IMessageSink diagnosticMessageSink, TestMethodDisplay display, TestMethodDisplayOptions options, ITestMethod testMethod)
        : base(diagnosticMessageSink, display, options, testMethod)
    {
    }

    protected override string? GetSkipReason(IAttributeInfo factAttribute)
    {
        if (Peers.Required)
        {
            return null;
        }

        Type testClass = TestMethod.TestClass.Class.ToRuntimeType();
        bool underPid1 = testClass.GetConstructors()
            .Any(c => c.GetParameters().Any(p => typeof(Pid1Container).IsAssignableFrom(p.ParameterType)));
        return (underPid1, Peers.Pid1UnavailableReason, Peers.SystemdUnavailableReason) switch
        {
            (true, { } reason, _) => $"systemd as PID 1 unavailable: {reason}",
            (false, _, { } reason) => $"real systemd unavailable: {reason}",
            _ => null,
        };
    }
}
