using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>Issue 10, "also seen": the health-driven watchdog logs the transitions, not every check.</summary>
public sealed class HealthWatchdogLoggingTests
{
    [Fact]
    public void An_unhealthy_period_logs_one_line_when_pings_stop_and_one_when_they_resume_and_no_error_per_check()
    {
        using NotifyReceiver manager = NotifyReceiver.Bind();

        // WatchdogSec=0.2: a check every 100 ms; the first 8 say Unhealthy, the rest Healthy.
        (int exitCode, string output) = TestDaemonChild.Run(
            // Without INVOCATION_ID and JOURNAL_STREAM (a test runner started by systemd has them), or
            // AddSdDaemon would replace the console provider whose lines this test reads.
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = manager.NotifySocket, ["WATCHDOG_USEC"] = "200000", ["INVOCATION_ID"] = null, ["JOURNAL_STREAM"] = null },
            "host-health=8:3000");
        Assert.True(exitCode == 0, output);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string summary = Assert.Single(lines, l => l.StartsWith("host-health: stopped after ", StringComparison.Ordinal));
        Assert.True(int.Parse(summary.Split(' ')[3], System.Globalization.CultureInfo.InvariantCulture) > 8, summary); // it recovered
        Assert.DoesNotContain(lines, l => l.StartsWith("fail:", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("Health is now Unhealthy; watchdog pings are paused until it recovers: flaky: warming up", StringComparison.Ordinal));
        Assert.Single(lines, l => l.Contains("Health has recovered; watchdog pings resume", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("warn:", StringComparison.Ordinal));

        // The host ran under the "manager" with its watchdog.
        var received = new List<string>();
        while (manager.Receive(TimeSpan.Zero) is { } message)
        {
            received.Add(message.Text);
        }

        Assert.Contains("WATCHDOG=1", received);
    }
}
