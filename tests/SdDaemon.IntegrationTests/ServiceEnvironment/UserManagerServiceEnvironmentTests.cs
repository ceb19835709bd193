using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.ServiceEnvironment;

/// <summary>The unit's environment under the systemd 252 user manager (a transient unit made with
/// systemd-run): RuntimeDirectory= is created under its XDG_RUNTIME_DIR and returned, and there is
/// no memory pressure watch (spec S-1, M-1). Credentials are proven under PID 1
/// (<see cref="ServiceEnvironmentTests"/>): this 252 user manager, given SetCredential= and
/// LoadCredential= through systemd-run, sets $CREDENTIALS_DIRECTORY to an empty directory.</summary>
[Collection(SystemdCollection.Name)]
public sealed class UserManagerServiceEnvironmentTests(SystemdUserManager manager)
{
    [SystemdFact]
    public void The_runtime_directory_reaches_a_user_service_and_nothing_watches_memory_pressure()
    {
        manager.EnsureRunning();
        string id = Guid.NewGuid().ToString("N")[..8];
        string unit = $"sdd-userenv-{id}";
        DirectoryInfo work = Directory.CreateTempSubdirectory("sdd-userenv-");
        string report = Path.Combine(work.FullName, "report");
        try
        {
            manager.SystemdRun("--unit", unit, "-p", "Type=notify",
                "-p", $"RuntimeDirectory=sdd-{id}",
                TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "SdDaemon.EnvironmentDaemon.dll"), report).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", TimeSpan.FromSeconds(60)));
            Dictionary<string, string> values = ServiceEnvironmentTests.WaitForReport(report, r => r.ContainsKey("reloads"));

            Assert.Equal($"{manager.RuntimeDirectory}/sdd-{id}", values["runtime"]);
            Assert.Equal(0, manager.InNamespace("test", "-d", values["runtime"]).ExitCode);
            Assert.Equal("", values["state"]);
            Assert.Equal("", values["pressure-watch"]);
            Assert.Equal("0", values["pressure"]);
        }
        finally
        {
            manager.Cleanup(unit + ".service");
            work.Delete(recursive: true);
        }
    }
}
