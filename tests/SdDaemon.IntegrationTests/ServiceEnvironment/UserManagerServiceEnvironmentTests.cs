using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.ServiceEnvironment;

/// <summary>The unit's environment under the systemd 252 user manager (a transient unit made with
/// systemd-run): SetCredential= and LoadCredential= arrive as configuration and a binary credential
/// byte for byte from $XDG_RUNTIME_DIR/credentials/UNIT (spec C-1, C-4), RuntimeDirectory=
/// is created under its XDG_RUNTIME_DIR and returned, and there is no memory pressure watch
/// (spec S-1, M-1).</summary>
[Collection(SystemdCollection.Name)]
public sealed class UserManagerServiceEnvironmentTests(SystemdUserManager manager)
{
    [SystemdFact]
    public void Credentials_and_the_runtime_directory_reach_a_user_service_and_nothing_watches_memory_pressure()
    {
        manager.EnsureRunning();
        string id = Guid.NewGuid().ToString("N")[..8];
        string unit = $"sdd-userenv-{id}";
        DirectoryInfo work = Directory.CreateTempSubdirectory("sdd-userenv-");
        string report = Path.Combine(work.FullName, "report");
        File.WriteAllText(Path.Combine(work.FullName, "greeting"), "hello from LoadCredential\n");
        File.WriteAllBytes(Path.Combine(work.FullName, "bin.key"), [0x00, 0xff, 0x10, 0x80, 0x0a]);
        try
        {
            manager.SystemdRun("--unit", unit, "-p", "Type=notify",
                "-p", $"RuntimeDirectory=sdd-{id}",
                "-p", $"LoadCredential=app.Greeting:{work.FullName}/greeting",
                "-p", $"LoadCredential=bin.key:{work.FullName}/bin.key",
                "-p", "SetCredential=app.Db__Port:5432",
                TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "SdDaemon.EnvironmentDaemon.dll"), report).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", TimeSpan.FromSeconds(60)));
            Dictionary<string, string> values = ServiceEnvironmentTests.WaitForReport(report, r => r.ContainsKey("reloads"));

            Assert.Equal($"{manager.RuntimeDirectory}/credentials/{unit}.service", values["credentials"]);
            Assert.Equal("hello from LoadCredential", values["config:Greeting"]);
            Assert.Equal("5432", values["config:Db:Port"]);
            Assert.Equal("00FF10800A", values["binary:bin.key"]);
            Assert.Equal(2, values.Keys.Count(k => k.StartsWith("config:", StringComparison.Ordinal)));
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
