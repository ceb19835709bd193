using System.Diagnostics;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Hosting;

/// <summary>
/// A host with Microsoft.Extensions.Hosting.Systemd's AddSystemd() and SdDaemon's AddSdDaemon() in
/// either order (issue 12 item 4), and a host with AddSdDaemon alone whose stderr is a file (item 5),
/// under the real systemd 252 user manager: its parent is a process named systemd, so AddSystemd()
/// registers its lifetime here (under SdDaemon.Testing it registers nothing and hides the clash).
/// Every outcome is read from <c>systemctl show</c> and from the unit's StandardOutput=/StandardError= files.
/// </summary>
[Collection(SystemdCollection.Name)]
public sealed class HostCoexistenceTests(SystemdUserManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private string Start(string unit, string directory, string options, params string[] properties)
    {
        manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
            "-p", $"StandardOutput=file:{Path.Combine(directory, "out")}",
            "-p", $"StandardError=file:{Path.Combine(directory, "err")}",
            .. properties.SelectMany(p => new[] { "-p", p }),
            .. TestDaemon.Command("host=" + options)]).EnsureSuccess("systemd-run");
        return unit;
    }

    private static string WaitForFile(string path, Func<string, bool> done)
    {
        var clock = Stopwatch.StartNew();
        string text = "";
        while (clock.Elapsed < Patience)
        {
            text = File.Exists(path) ? File.ReadAllText(path) : "";
            if (done(text))
            {
                return text;
            }

            Thread.Sleep(50);
        }

        return text;
    }

    [SystemdFact]
    public void AddSystemd_then_AddSdDaemon_runs_SdDaemons_lifetime_STATUS_EXTEND_TIMEOUT_and_SIGHUP_reloads()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("coexist-before");
        string directory = manager.CreateSharedDirectory("sdd-coexist-");
        try
        {
            // The host takes 12 s to start against TimeoutStartSec=8: only EXTEND_TIMEOUT_USEC (every
            // second, 2 s ahead) keeps the manager from killing it; Microsoft's lifetime sends none.
            Start(unit, directory, "ms-before,start-ms=12000", "TimeoutStartSec=8");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Dictionary<string, string> started = manager.Show(unit, "StatusText", "NRestarts", "MainPID", "Result");
            Assert.Equal("running", started["StatusText"]); // SdDaemon's READY=1 carries STATUS=
            Assert.Equal("0", started["NRestarts"]);
            Assert.Equal("success", started["Result"]);

            // SIGHUP reloads (the handler runs) instead of ending the process.
            manager.Systemctl("kill", "--kill-who=main", "--signal=SIGHUP", unit).EnsureSuccess("systemctl kill");
            Assert.Equal("reload handler\n", WaitForFile(Path.Combine(directory, "out"), t => t.Contains("reload handler", StringComparison.Ordinal)));
            Assert.Equal("running", manager.WaitForProperty(unit, "SubState", "running", Patience));
            Dictionary<string, string> reloaded = manager.Show(unit, "ActiveState", "MainPID", "NRestarts", "StatusText");
            Assert.Equal("active", reloaded["ActiveState"]);
            Assert.Equal(started["MainPID"], reloaded["MainPID"]);
            Assert.Equal("0", reloaded["NRestarts"]);
            Assert.Equal("running", reloaded["StatusText"]);

            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            Assert.Equal("reload handler\nhost: stopped\n", File.ReadAllText(Path.Combine(directory, "out")));
            Assert.Equal(
                // 2046691385: the event id the LoggerMessage generator derives from the method's name.
                "<4>TestDaemon.Host: first line\n<4>second line\n<6>SdDaemon.Hosting.ServiceReloader[2046691385]: Configuration reloaded\n",
                File.ReadAllText(Path.Combine(directory, "err")));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [SystemdFact]
    public void AddSdDaemon_then_AddSystemd_fails_the_start_saying_what_to_remove()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("coexist-after");
        string directory = manager.CreateSharedDirectory("sdd-coexist-");
        try
        {
            // Before the check, Microsoft's lifetime won here: the unit went active with no STATUS=
            // and a SIGHUP ended it.
            Start(unit, directory, "ms-after");
            Assert.Equal("failed", manager.WaitForProperty(unit, "ActiveState", "failed", Patience));
            Dictionary<string, string> state = manager.Show(unit, "Result", "ExecMainStatus", "StatusText");
            Assert.Equal("exit-code", state["Result"]);
            Assert.Equal("3", state["ExecMainStatus"]);
            Assert.Equal("", state["StatusText"]);
            Assert.Equal(
                "failed: UseSystemd()/AddSystemd() of Microsoft.Extensions.Hosting.Systemd was called after AddSdDaemon()/UseSdDaemon() "
                + "and replaced SdDaemon's host lifetime: under systemd there would be no STATUS= and no EXTEND_TIMEOUT_USEC=, "
                + "and SIGHUP would end the service. Remove the UseSystemd()/AddSystemd() call (AddSdDaemon() does what it did) "
                + "and the Microsoft.Extensions.Hosting.Systemd package reference.\n",
                File.ReadAllText(Path.Combine(directory, "out")));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [SystemdFact]
    public void With_StandardError_a_file_AddSdDaemon_alone_logs_prefixed_lines_there_and_nothing_to_stdout()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("stderr-file");
        string directory = manager.CreateSharedDirectory("sdd-stderr-");
        try
        {
            // The console provider used to write "warn: TestDaemon.Host[0]" and the message indented on
            // the next lines to stdout (the journal by default): two records, neither with a priority.
            Start(unit, directory, "");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            WaitForFile(Path.Combine(directory, "err"), t => t.Contains("second line", StringComparison.Ordinal));
            manager.Systemctl("stop", unit).EnsureSuccess("systemctl stop");
            Assert.Equal("<4>TestDaemon.Host: first line\n<4>second line\n", File.ReadAllText(Path.Combine(directory, "err")));
            Assert.Equal("host: stopped\n", File.ReadAllText(Path.Combine(directory, "out")));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}
