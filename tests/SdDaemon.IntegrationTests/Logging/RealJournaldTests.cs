using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Logging;

/// <summary>
/// The logging provider under a real manager, logging to the real systemd-journald (for the 252
/// user manager one started in its mount namespace, under PID 1 the container's own): what
/// journalctl -o json shows, field by field.
/// </summary>
public abstract class RealJournaldTests(IRealManager manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Makes sure a journald serves the manager's services (PID 1 runs its own).</summary>
    protected virtual void EnsureJournal() => manager.EnsureRunning();

    [RealManagerFact]
    public void Stderr_form_every_level_arrives_at_its_priority_and_every_line_of_a_message_is_its_own_record()
    {
        EnsureJournal();
        string tag = TestDaemon.UniqueUnit("jstderr");
        RunToCompletion(tag, "-p", "StandardError=journal", "-p", "SyslogIdentifier=" + tag, "journal=stderr:" + tag);

        string[] expected =
        [
            "7 Demo: trace", "7 Demo: debug", "6 Demo: info", "4 Demo: warning", "3 Demo: error", "2 Demo: critical",
            "5 Demo: notice", "1 Demo: alert", "0 Demo: emerg",
            "4 Demo: multi line 1", "4 multi line 2", "4 multi line 3",
            "3 Demo: failed", "3 System.InvalidOperationException: outer", "3  ---> System.ArgumentException: inner",
            "3    --- End of inner exception stack trace ---",
            "6 Demo[12]: order 42 for alice",
        ];
        var entries = JournaldInNamespace.Entries(manager, tag, e => e.Count >= expected.Length);
        Assert.Equal(expected, entries.Select(e => e["PRIORITY"] + " " + e["MESSAGE"]).ToArray());
        // Stream records: no fields of the native form.
        Assert.All(entries, e => Assert.False(e.ContainsKey("LOGGER_CATEGORY")));
        Assert.All(entries, e => Assert.Equal("stdout", e["_TRANSPORT"]));
    }

    [RealManagerFact]
    public void Native_form_sends_structured_entries_with_template_scope_event_and_exception_fields()
    {
        EnsureJournal();
        string tag = TestDaemon.UniqueUnit("jnative");
        RunToCompletion(tag, "-p", "StandardError=journal", "journal=native:" + tag);

        string[] expected =
        [
            "7 trace", "7 debug", "6 info", "4 warning", "3 error", "2 critical", "5 notice", "1 alert", "0 emerg",
            "4 multi line 1\nmulti line 2\nmulti line 3",
            "3 failed\nSystem.InvalidOperationException: outer\n ---> System.ArgumentException: inner\n   --- End of inner exception stack trace ---",
            "6 order 42 for alice",
        ];
        var entries = JournaldInNamespace.Entries(manager, tag, e => e.Count >= expected.Length);
        Assert.Equal(expected, entries.Select(e => e["PRIORITY"] + " " + e["MESSAGE"]).ToArray());
        Assert.All(entries, e => Assert.Equal("journal", e["_TRANSPORT"]));
        Assert.All(entries, e => Assert.Equal("Demo", e["LOGGER_CATEGORY"]));

        Dictionary<string, string> failed = entries[10];
        Assert.Equal("System.InvalidOperationException", failed["EXCEPTION_TYPE"]);
        Assert.Equal("outer", failed["EXCEPTION_MESSAGE"]);
        Assert.Equal("failed", failed["MESSAGE_TEMPLATE"]);

        Dictionary<string, string> order = entries[11];
        Assert.Equal("42", order["ORDER_ID"]);
        Assert.Equal("alice", order["CUSTOMER"]);
        Assert.Equal("r-9", order["REQUEST_ID"]);
        Assert.Equal("12", order["EVENT_ID"]);
        Assert.Equal("Ordered", order["EVENT_NAME"]);
        Assert.Equal("order {OrderId} for {Customer}", order["MESSAGE_TEMPLATE"]);
    }

    [RealManagerFact]
    public void Auto_form_detects_the_journal_stream_and_goes_native()
    {
        EnsureJournal();
        string tag = TestDaemon.UniqueUnit("jauto");
        string output = RunToCompletion(tag, "-p", "StandardError=journal", "journal-check", "journal=auto:" + tag);

        Assert.Matches(@"journal-check: True JOURNAL_STREAM=\d+:\d+", output);
        var entries = JournaldInNamespace.Entries(manager, tag, e => e.Count >= 12);
        Assert.Equal(12, entries.Count);
        Assert.All(entries, e => Assert.Equal("journal", e["_TRANSPORT"]));
    }

    [RealManagerFact]
    public void JOURNAL_STREAM_for_stdout_alone_does_not_make_stderr_the_journal()
    {
        EnsureJournal();
        string tag = TestDaemon.UniqueUnit("jcheck");
        string errors = Path.Combine(manager.CreateSharedDirectory("sdd-jcheck-"), tag + ".err");
        try
        {
            // stdout to the journal, stderr to a file: the variable is set (for stdout), fd 2 does not match it.
            string output = RunToCompletion(tag, "-p", "StandardOutput=journal", "-p", "StandardError=append:" + errors, "-p", "SyslogIdentifier=" + tag,
                "journal-check", "journal=auto:" + tag);
            var stdoutLines = JournaldInNamespace.Entries(manager, tag, e => e.Any(x => x["MESSAGE"].StartsWith("journal: ", StringComparison.Ordinal)));
            Assert.Matches(@"^journal-check: False JOURNAL_STREAM=\d+:\d+$", stdoutLines[0]["MESSAGE"]);
            Assert.Equal("", output);

            // Auto under a manager, stderr not the journal: <N>-prefixed lines in the file.
            string[] lines = File.ReadAllLines(errors);
            Assert.Equal("<7>Demo: trace", lines[0]);
            Assert.Equal("<6>Demo: info", lines[2]);
            Assert.Equal("<0>Demo: emerg", lines[8]);
            Assert.Equal("<4>multi line 2", lines[10]);
        }
        finally
        {
            File.Delete(errors);
        }
    }

    [RealManagerFact]
    public void An_entry_over_1_MiB_arrives_whole_through_a_sealed_memfd()
    {
        EnsureJournal();
        string tag = TestDaemon.UniqueUnit("jbig");
        const int Size = 1536 * 1024;
        string output = RunToCompletion(tag, "-p", "StandardError=journal", "journal-big=" + tag + ":" + Size);
        Assert.Contains("journal-big: Sent ", output, StringComparison.Ordinal);

        var entries = JournaldInNamespace.Entries(manager, tag, e => e.Count >= 1);
        Dictionary<string, string> entry = Assert.Single(entries);
        Assert.Equal("yes", entry["BIG_ENTRY"]);
        Assert.Equal("6", entry["PRIORITY"]);
        string message = entry["MESSAGE"];
        Assert.Equal(Size, message.Length);
        Assert.StartsWith("0000000\n0000001\n", message, StringComparison.Ordinal);
        Assert.Equal(Size / 8, message.Count(c => c == '\n'));
    }

    /// <summary>Runs the test daemon with the steps as a transient unit, waits for it to exit and
    /// returns its stdout (an append: file) when stdout is not otherwise set.</summary>
    private string RunToCompletion(string unit, params string[] propertiesAndSteps)
    {
        string stdout = Path.Combine(manager.CreateSharedDirectory("sdd-journal-"), unit + ".out");
        var properties = new List<string>();
        var steps = new List<string>();
        for (int i = 0; i < propertiesAndSteps.Length; i++)
        {
            if (propertiesAndSteps[i] == "-p")
            {
                properties.Add("-p");
                properties.Add(propertiesAndSteps[++i]);
            }
            else
            {
                steps.Add(propertiesAndSteps[i]);
            }
        }

        if (!properties.Any(p => p.StartsWith("StandardOutput=", StringComparison.Ordinal)))
        {
            properties.Add("-p");
            properties.Add("StandardOutput=append:" + stdout);
        }

        try
        {
            // RemainAfterExit: the unit stays loaded as active/exited (or failed) once the daemon is done.
            manager.SystemdRun(["--unit", unit, "-p", "Type=exec", "-p", "RemainAfterExit=yes", .. properties, .. TestDaemon.Command([.. steps])]).EnsureSuccess("systemd-run");
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            string state;
            do
            {
                state = manager.Property(unit, "SubState");
                if (state is "exited" or "failed")
                {
                    break;
                }

                Thread.Sleep(100);
            }
            while (stopwatch.Elapsed < Patience);
            Assert.Equal("exited", state);
            Assert.Equal("success", manager.Property(unit, "Result"));
            return File.Exists(stdout) ? File.ReadAllText(stdout) : "";
        }
        finally
        {
            manager.Cleanup(unit);
            File.Delete(stdout);
        }
    }
}

[Collection(SystemdCollection.Name)]
public sealed class RealJournaldTestsUserManager(SystemdUserManager manager, JournaldInNamespace journald) : RealJournaldTests(manager)
{
    protected override void EnsureJournal() => journald.EnsureStarted(manager);
}

[Collection(Pid1Systemd252Collection.Name)]
public sealed class RealJournaldTests252(Systemd252Pid1 manager) : RealJournaldTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class RealJournaldTests257(Systemd257Pid1 manager) : RealJournaldTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class RealJournaldTests262(Systemd262Pid1 manager) : RealJournaldTests(manager);
