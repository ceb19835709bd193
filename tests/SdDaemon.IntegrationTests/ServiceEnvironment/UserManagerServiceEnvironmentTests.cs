using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.ServiceEnvironment;

/// <summary>The unit's environment under the systemd 252 user manager (a transient unit made with
/// systemd-run): SetCredential=, LoadCredential= and LoadCredentialEncrypted= (host key: the
/// manager's own secret) arrive as configuration and a binary credential byte for byte from
/// $XDG_RUNTIME_DIR/credentials/UNIT, a reload reads them again (spec C-1, C-4, C-5), RuntimeDirectory=
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
        File.WriteAllText(Path.Combine(work.FullName, "secret.plain"), "decrypted by the user manager");
        ProcessRunner.Run("/usr/bin/systemd-creds", ["encrypt", "--with-key=host", "--name=app.Secret", Path.Combine(work.FullName, "secret.plain"), Path.Combine(work.FullName, "secret.cred")], manager.ClientEnvironment)
            .EnsureSuccess("systemd-creds encrypt");
        try
        {
            manager.SystemdRun("--unit", unit, "-p", "Type=notify",
                "-p", $"RuntimeDirectory=sdd-{id}",
                "-p", $"LoadCredential=app.Greeting:{work.FullName}/greeting",
                "-p", $"LoadCredential=bin.key:{work.FullName}/bin.key",
                "-p", "SetCredential=app.Db__Port:5432",
                "-p", $"LoadCredentialEncrypted=app.Secret:{work.FullName}/secret.cred",
                "-p", "ExecReload=/bin/kill -HUP $MAINPID",
                TestDaemon.DotnetPath, Path.Combine(AppContext.BaseDirectory, "SdDaemon.EnvironmentDaemon.dll"), report).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", TimeSpan.FromSeconds(60)));
            Dictionary<string, string> values = ServiceEnvironmentTests.WaitForReport(report, r => r.ContainsKey("reloads"));

            Assert.Equal($"{manager.RuntimeDirectory}/credentials/{unit}.service", values["credentials"]);
            Assert.Equal("hello from LoadCredential", values["config:Greeting"]);
            Assert.Equal("5432", values["config:Db:Port"]);
            Assert.Equal("decrypted by the user manager", values["config:Secret"]);
            Assert.Equal("00FF10800A", values["binary:bin.key"]);
            Assert.Equal(3, values.Keys.Count(k => k.StartsWith("config:", StringComparison.Ordinal)));
            Assert.Equal($"{manager.RuntimeDirectory}/sdd-{id}", values["runtime"]);
            Assert.Equal(0, manager.InNamespace("test", "-d", values["runtime"]).ExitCode);
            Assert.Equal("", values["state"]);
            Assert.Equal("", values["pressure-watch"]);
            Assert.Equal("0", values["pressure"]);

            // A reload reads the directory again; 252 keeps what it placed at start (no RefreshOnReload=).
            File.WriteAllText(Path.Combine(work.FullName, "greeting"), "rotated\n");
            manager.Systemctl("reload", unit + ".service").EnsureSuccess("reload");
            values = ServiceEnvironmentTests.WaitForReport(report, r => r.GetValueOrDefault("reloads") == "1");
            Assert.Equal("hello from LoadCredential", values["config:Greeting"]);
            Assert.Equal("decrypted by the user manager", values["config:Secret"]);
        }
        finally
        {
            manager.Cleanup(unit + ".service");
            work.Delete(recursive: true);
        }
    }
}
