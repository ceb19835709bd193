using System.Diagnostics;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.ServiceEnvironment;

/// <summary>The unit's environment under systemd as PID 1 (tests/SdDaemon.EnvironmentDaemon, a
/// generic host with SdDaemon.Hosting): LoadCredential=, SetCredential= and LoadCredentialEncrypted=
/// arrive as configuration and a binary credential byte for byte (spec C-1, C-4, C-5); the service
/// directories exist, owned by User=, and the API returns them (spec S-1, S-2); memory pressure
/// reaches the host's handler, and 262 hands the unit's own PSI file, which the host arms (spec M-1, M-3).</summary>
public abstract class ServiceEnvironmentTests(Pid1Container pid1)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static string DllPath => Path.Combine(AppContext.BaseDirectory, "SdDaemon.EnvironmentDaemon.dll");

    /// <summary>Whether the manager re-reads credentials on reload (RefreshOnReload=, systemd 258).</summary>
    private bool RefreshesCredentials => pid1.ExpectedVersion >= 258;

    [Pid1Fact]
    public void Credentials_arrive_as_configuration_directories_are_the_units_and_a_reload_reads_them_again()
    {
        pid1.EnsureRunning();
        string id = Guid.NewGuid().ToString("N")[..8];
        string unit = $"sdd-env-{id}.service";
        string work = Directory.CreateDirectory(Path.Combine(pid1.ScratchDirectory, "env-" + id)).FullName;
        File.SetUnixFileMode(work, (UnixFileMode)0x1FF);
        string report = Path.Combine(work, "report");
        File.WriteAllText(Path.Combine(work, "greeting"), "hello from LoadCredential\n");
        File.WriteAllBytes(Path.Combine(work, "bin.key"), [0x00, 0xff, 0x10, 0x80, 0x0a]);
        File.WriteAllText(Path.Combine(work, "secret.plain"), "decrypted by the manager");
        pid1.Exec("systemd-creds", "encrypt", "--with-key=host", "--name=app.Secret", Path.Combine(work, "secret.plain"), Path.Combine(work, "secret.cred"))
            .EnsureSuccess("systemd-creds encrypt");
        pid1.InstallUnit(unit, $"""
            [Service]
            Type=notify
            ExecStart=/usr/bin/dotnet {DllPath} {report}
            ExecReload=/bin/kill -HUP $MAINPID
            User=nobody
            StateDirectory=sdd-{id} sdd-{id}-extra
            RuntimeDirectory=sdd-{id}
            CacheDirectory=sdd-{id}
            LogsDirectory=sdd-{id}
            ConfigurationDirectory=sdd-{id}
            LoadCredential=app.Greeting:{work}/greeting
            LoadCredential=bin.key:{work}/bin.key
            SetCredential=app.Db__Port:5432
            LoadCredentialEncrypted=app.Secret:{work}/secret.cred
            {(RefreshesCredentials ? "RefreshOnReload=yes" : "")}
            """);
        try
        {
            pid1.Systemctl("start", "--no-block", unit).EnsureSuccess("start");
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Wait));
            Dictionary<string, string> values = WaitForReport(report, r => r.ContainsKey("reloads"));

            Assert.Equal("65534", values["uid"]);
            Assert.Equal($"/var/lib/sdd-{id}:/var/lib/sdd-{id}-extra", values["state"]);
            Assert.Equal($"/var/lib/sdd-{id}", values["content-root"]);
            Assert.Equal("65534", values["state-owner"]);
            Assert.Equal($"/run/sdd-{id}", values["runtime"]);
            Assert.Equal($"/var/cache/sdd-{id}", values["cache"]);
            Assert.Equal($"/var/log/sdd-{id}", values["logs"]);
            Assert.Equal($"/etc/sdd-{id}", values["configuration"]);
            Assert.Equal("hello from LoadCredential", values["config:Greeting"]);
            Assert.Equal("5432", values["config:Db:Port"]);
            Assert.Equal("decrypted by the manager", values["config:Secret"]);
            Assert.Equal("00FF10800A", values["binary:bin.key"]);
            Assert.Equal(3, values.Keys.Count(k => k.StartsWith("config:", StringComparison.Ordinal)));

            // Memory pressure for real: 254+ (MemoryPressureWatch=auto, on with cgroup v2 and memory
            // accounting, as in the 262 container) hands the unit's own PSI file and the trigger
            // "some 200000 2000000"; the host arms it. 252 knows nothing of it.
            string cgroupPressure = $"/sys/fs/cgroup/system.slice/{unit}/memory.pressure";
            string journal = pid1.Journalctl("-u", unit, "-o", "cat").Stdout;
            if (pid1.ExpectedVersion >= 254)
            {
                Assert.Equal(cgroupPressure, values["pressure-watch"]);
                Assert.Contains($"Memory pressure: watching {cgroupPressure}", journal);
            }
            else
            {
                Assert.Equal("", values["pressure-watch"]);
                Assert.Contains("Memory pressure watch not available: MEMORY_PRESSURE_WATCH is unset", journal);
            }
            foreach (string directory in new[] { $"/var/lib/sdd-{id}-extra", $"/run/sdd-{id}", $"/var/cache/sdd-{id}", $"/var/log/sdd-{id}" })
            {
                Assert.Equal("65534", pid1.Exec("stat", "-c", "%u", directory).EnsureSuccess("stat").Stdout.Trim());
            }

            File.WriteAllText(Path.Combine(work, "greeting"), "rotated\n");
            pid1.Systemctl("reload", unit).EnsureSuccess("reload");
            values = WaitForReport(report, r => r.GetValueOrDefault("reloads") == "1");

            // 258+ refreshes the credentials on reload; before, the directory keeps what start put there.
            Assert.Equal(RefreshesCredentials ? "rotated" : "hello from LoadCredential", values["config:Greeting"]);
            Assert.Equal("decrypted by the manager", values["config:Secret"]);
            Assert.Equal("active", pid1.Property(unit, "ActiveState"));
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public void Memory_pressure_from_a_FIFO_the_test_writes_reaches_the_hosts_handler()
    {
        pid1.EnsureRunning();
        string id = Guid.NewGuid().ToString("N")[..8];
        string unit = $"sdd-mp-{id}.service";
        string work = Directory.CreateDirectory(Path.Combine(pid1.ScratchDirectory, "mp-" + id)).FullName;
        File.SetUnixFileMode(work, (UnixFileMode)0x1FF);
        string fifo = Path.Combine(work, "pressure");
        string report = Path.Combine(work, "report");
        pid1.Exec("mkfifo", "-m", "0666", fifo).EnsureSuccess("mkfifo");
        // Environment= overrides what the manager sets (systemd 254+ points MEMORY_PRESSURE_WATCH at
        // the cgroup's memory.pressure when it can): here the test is the pressure source. Its
        // MEMORY_PRESSURE_WRITE goes too: a trigger written into a FIFO would be read back as an
        // event (sd-event does the same).
        pid1.InstallUnit(unit, $"""
            [Service]
            Type=notify
            ExecStart=/usr/bin/dotnet {DllPath} {report}
            User=nobody
            Environment=MEMORY_PRESSURE_WATCH={fifo}
            UnsetEnvironment=MEMORY_PRESSURE_WRITE
            """);
        try
        {
            pid1.Systemctl("start", "--no-block", unit).EnsureSuccess("start");
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", Wait));
            Assert.Equal("0", WaitForReport(report, r => r.ContainsKey("pressure"))["pressure"]);

            pid1.Exec("sh", "-c", $"printf x > {fifo}").EnsureSuccess("write to the FIFO");

            Assert.Equal("1", WaitForReport(report, r => r.GetValueOrDefault("pressure") == "1")["pressure"]);
            string journal = pid1.WaitForJournal(unit, "Memory pressure: managed heap", Wait);
            Assert.Contains($"Memory pressure: watching {fifo}", journal);
            Assert.Contains("Memory pressure: managed heap", journal);
        }
        finally
        {
            pid1.Cleanup(unit);
        }
    }

    internal static Dictionary<string, string> WaitForReport(string path, Func<Dictionary<string, string>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, string> values = [];
        while (clock.Elapsed < Wait)
        {
            if (File.Exists(path))
            {
                values = File.ReadAllLines(path)
                    .Select(line => line.Split('=', 2))
                    .Where(parts => parts.Length == 2)
                    .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
                if (done(values))
                {
                    return values;
                }
            }

            Thread.Sleep(100);
        }

        Assert.Fail($"the report {path} never got there; last: {string.Join(", ", values.Select(kv => kv.Key + "=" + kv.Value))}");
        return values;
    }
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class ServiceEnvironmentTests252(Systemd252Pid1 pid1) : ServiceEnvironmentTests(pid1);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class ServiceEnvironmentTests262(Systemd262Pid1 pid1) : ServiceEnvironmentTests(pid1);
