using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>
/// The notify keys newer than 252, against systemd as PID 1 on 252, 257 and 262: each takes effect
/// from the version that added it (sd_notify(3)) and older managers ignore it (spec N-8), which is
/// what the library promises for keys a manager does not know.
/// </summary>
public abstract class NewerProtocolTests(Pid1Container manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [RealManagerFact]
    public void ERRNO_BUSERROR_and_VARLINKERROR_are_what_systemctl_show_reports()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("failure");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", .. TestDaemon.Command("ready", "failure", "status=failed", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("failed", manager.WaitForProperty(unit, "StatusText", "failed", Patience));
            Dictionary<string, string> state = manager.Show(unit, "StatusErrno", "StatusBusError", "StatusVarlinkError");
            Assert.Equal("22", state["StatusErrno"]);
            // 252 shows no StatusBusError (systemctl show leaves out what is empty); 257 and 262 do.
            Assert.Equal(manager.Version >= 257 ? "org.freedesktop.DBus.Error.TimedOut" : "", state.GetValueOrDefault("StatusBusError", ""));
            // VARLINKERROR= since 257; 252 has no such property at all.
            Assert.Equal(manager.Version >= 257 ? "org.varlink.service.InvalidParameter" : "", state.GetValueOrDefault("StatusVarlinkError", ""));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void NOTIFYACCESS_all_at_run_time_lets_a_child_of_a_NotifyAccess_main_unit_set_the_status_since_254()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("notifyaccess");
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main",
                .. TestDaemon.Command("status=from main", "ready", "notify-access=all", "status-as-child=from the child", "status-as-child=again", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            string expected = manager.Version >= 254 ? "again" : "from main";
            Assert.Equal(expected, manager.WaitForProperty(unit, "StatusText", expected, Patience));
            Assert.Equal(manager.Version >= 254 ? "all" : "main", manager.Property(unit, "NotifyAccess"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void N17_SendMainPid_hands_the_unit_to_the_child_by_pidfd_since_257_and_by_MAINPID_before()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("mainpidfd");
        string output = Path.Combine(manager.CreateSharedDirectory("sdd-mainpidfd-"), "out");
        string cursor = JournalCursor();
        try
        {
            // NotifyAccess=main: the main process itself hands over, as a daemon that forks its successor does.
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("ready", "mainpid-handover", "wait")]).EnsureSuccess("systemd-run");
            string line = WaitForLine(output, "mainpid-handover: ");
            string child = line.Split(' ')[1];
            Assert.Equal($"mainpid-handover: {child} sent", line);
            Assert.Equal(child, manager.WaitForProperty(unit, "MainPID", child, Patience));
            Assert.Equal("active", manager.Property(unit, "ActiveState"));

            // 252 does not know MAINPIDFD=1: it closes the pidfd it did not ask for (a message of PID 1's own,
            // not the unit's; this collection runs one test at a time) and takes MAINPID=. 257 takes the pidfd.
            string journal = JournalAfter(cursor, "_PID=1");
            Assert.Equal(manager.Version < 257, journal.Contains("Got extra auxiliary fds with notification message, closing them.", StringComparison.Ordinal));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void N17_MAINPIDFDID_of_the_child_is_accepted_and_a_wrong_one_refused_since_257()
    {
        manager.EnsureRunning();
        string right = TestDaemon.UniqueUnit("fdid-right");
        string wrong = TestDaemon.UniqueUnit("fdid-wrong");
        string directory = manager.CreateSharedDirectory("sdd-mainpidfdid-");
        try
        {
            foreach ((string unit, string which) in new[] { (right, "right"), (wrong, "wrong") })
            {
                // NotifyAccess=all: the STATUS= after the handover comes from a process that may no longer be the main one.
                manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=all", "-p", $"StandardOutput=append:{Path.Combine(directory, which)}",
                    .. TestDaemon.Command("ready", $"mainpidfdid={which}", "barrier=10000", "status=processed", "wait")]).EnsureSuccess("systemd-run");
            }

            // The id the daemon sent is the one stat(1) reads from its pidfd; the manager compares it with its own reading.
            string[] sent = WaitForLine(Path.Combine(directory, "right"), "mainpidfdid: ").Split(' ');
            Assert.Equal("sent", sent[3]);
            Assert.True(ulong.Parse(sent[2], System.Globalization.CultureInfo.InvariantCulture) > 1);
            Assert.Equal(sent[1], manager.WaitForProperty(right, "MainPID", sent[1], Patience));

            string[] refused = WaitForLine(Path.Combine(directory, "wrong"), "mainpidfdid: ").Split(' ');
            Assert.Equal([refused[1], "1", "sent"], refused[1..]);
            Assert.Equal("processed", manager.WaitForProperty(wrong, "StatusText", "processed", Patience));
            string mainPid = manager.Property(wrong, "MainPID");
            Assert.Equal(manager.Version >= 257 ? "not the child" : "the child", mainPid == refused[1] ? "the child" : "not the child");
            string journal = JournalAfter(null, "-u", wrong);
            Assert.Equal(manager.Version >= 257, journal.Contains("mismatches", StringComparison.Ordinal) && journal.Contains(refused[1], StringComparison.Ordinal));
        }
        finally
        {
            manager.Cleanup(right);
            manager.Cleanup(wrong);
        }
    }

    [RealManagerFact]
    public async Task L3_LISTEN_PIDFDID_is_this_processes_pidfd_inode_id_since_259_and_the_check_passes()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("pidfdid");
        string directory = manager.CreateSharedDirectory("sdd-pidfdid-");
        string ids = Path.Combine(directory, "ids");
        string report = Path.Combine(directory, "report");
        int port = Activation.SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", "-p", "NotifyAccess=main",
                    .. TestDaemon.Command($"pidfdid={ids}", $"activation={report}", "ready", "serve=web", "wait")])
                .EnsureSuccess("systemd-run");
            string reply = await Activation.RealManagerActivationTests.ConnectAndRead(port, Patience);
            Assert.StartsWith("hello from web ", reply, StringComparison.Ordinal);

            string[] lines = File.ReadAllLines(ids);
            string own = lines[1]["OWN_PIDFDID=".Length..];
            Assert.True(ulong.Parse(own, System.Globalization.CultureInfo.InvariantCulture) > 1, own);
            Assert.Equal(manager.Version >= 259 ? $"LISTEN_PIDFDID={own}" : "LISTEN_PIDFDID=", lines[0]);
            // ListenFds.Get compared LISTEN_PIDFDID with its own reading and took the socket.
            Assert.Equal("outcome=Activated errno=0 count=1", File.ReadAllLines(report)[0]);
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }

    private string JournalCursor() =>
        manager.Journalctl("-n", "0", "--show-cursor").Stdout.Split("-- cursor: ")[1].Trim();

    /// <summary>The journal's messages (after <paramref name="cursor"/> if given) that match the filter.</summary>
    private string JournalAfter(string? cursor, params string[] filter)
    {
        manager.Journalctl("--sync").EnsureSuccess("journalctl --sync");
        return manager.Journalctl([.. cursor is null ? Array.Empty<string>() : ["--after-cursor", cursor], "-o", "cat", .. filter]).Stdout;
    }

    private static string WaitForLine(string path, string prefix)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (stopwatch.Elapsed < Patience)
        {
            if (File.Exists(path) && File.ReadAllLines(path).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line)
            {
                return line;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"no line '{prefix}...' in {path}: {(File.Exists(path) ? File.ReadAllText(path) : "(missing)")}");
    }

    [RealManagerFact]
    public void RESTART_RESET_sets_NRestarts_back_to_0_since_258()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("restartreset");
        string failures = Path.Combine(manager.CreateSharedDirectory("sdd-restartreset-"), "failures");
        try
        {
            // The first two instances fail at once; the third is healthy and resets the counter.
            string daemon = string.Join(' ', TestDaemon.Command("ready", "status=healthy", "restart-reset", "wait"));
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "Restart=on-failure", "-p", "RestartSec=100ms",
                "/bin/sh", "-c", $"if [ $(cat {failures} 2>/dev/null | wc -l) -lt 2 ]; then echo failed >> {failures}; exit 1; fi; exec {daemon}"])
                .EnsureSuccess("systemd-run");
            Assert.Equal("healthy", manager.WaitForProperty(unit, "StatusText", "healthy", Patience));
            Assert.Equal(["failed", "failed"], File.ReadAllLines(failures));
            string expected = manager.Version >= 258 ? "0" : "2";
            Assert.Equal(expected, manager.WaitForProperty(unit, "NRestarts", expected, Patience));
            Assert.Equal("active", manager.Property(unit, "ActiveState"));
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class NewerProtocolTests252(Systemd252Pid1 manager) : NewerProtocolTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class NewerProtocolTests257(Systemd257Pid1 manager) : NewerProtocolTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class NewerProtocolTests262(Systemd262Pid1 manager) : NewerProtocolTests(manager);
