using System.Globalization;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Daemonization;

/// <summary>The classic daemon under the real systemd 252 user manager as a Type=forking unit with PIDFile=.</summary>
[Collection(SystemdCollection.Name)]
public sealed class ForkingUnitTests(SystemdUserManager manager) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("sdd-forking-").FullName;

    public void Dispose()
    {
        ClassicDaemon.KillQuietly(Path.Combine(_directory, "daemon.pid"));
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [SystemdFact]
    public void Type_forking_unit_reports_the_daemon_as_MainPID_from_the_PID_file_and_stops_it()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("forking");
        string pidFile = Path.Combine(_directory, "daemon.pid");
        string log = Path.Combine(_directory, "daemon.log");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=forking", "-p", $"PIDFile={pidFile}",
                TestDaemon.DotnetPath, ClassicDaemon.DllPath, "--daemon", "--pidfile", pidFile, "--log", log, "--ready-delay", "500"])
                .EnsureSuccess("systemd-run");

            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            int pid = ClassicDaemon.ReadPidFile(pidFile);
            Assert.Equal(pid.ToString(CultureInfo.InvariantCulture), manager.Property(unit, "MainPID"));
            Assert.Equal("running", manager.Property(unit, "SubState"));
            // The manager is a subreaper: the orphaned daemon is its child now; and it is not a session leader.
            Assert.Equal(manager.ManagerPid.ToString(CultureInfo.InvariantCulture), ClassicDaemon.Status(pid, "PPid"));
            Assert.NotEqual(pid.ToString(CultureInfo.InvariantCulture), ClassicDaemon.Stat(pid)[3]);

            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            Assert.True(ClassicDaemon.WaitForExit(pid, Patience));
            Assert.False(File.Exists(pidFile));
            Assert.EndsWith("ready\nstopping\n", File.ReadAllText(log), StringComparison.Ordinal);
            Assert.Equal("inactive", manager.WaitForProperty(unit, "ActiveState", "inactive", Patience));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}
