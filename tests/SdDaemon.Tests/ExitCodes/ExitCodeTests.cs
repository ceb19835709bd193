using Xunit;

namespace SdDaemon.Tests.ExitCodes;

/// <summary>Spec X-1: the exit code values, as systemd's exit-status.h and sysexits.h define them.</summary>
public sealed class ExitCodeTests
{
    [Fact]
    public void X1_LSB_codes_are_0_to_7()
    {
        Assert.Equal(Enumerable.Range(0, 8), Enum.GetValues<LsbExitCode>().Select(c => (int)c));
        Assert.Equal(6, (int)LsbExitCode.NotConfigured);
        Assert.Equal(7, (int)LsbExitCode.NotRunning);
    }

    [Fact]
    public void X1_sysexits_are_64_to_78()
    {
        Assert.Equal(Enumerable.Range(64, 15), Enum.GetValues<SysExitCode>().Select(c => (int)c));
        Assert.Equal(70, (int)SysExitCode.Software);
        Assert.Equal(78, (int)SysExitCode.Config);
        Assert.Equal(64, (int)SysExitCode.Usage);
    }

    [Fact]
    public void X1_systemd_codes_are_200_to_246_without_the_reserved_223_and_234()
    {
        int[] expected = Enumerable.Range(200, 47).Where(c => c is not 223 and not 234).ToArray();
        Assert.Equal(expected, Enum.GetValues<SystemdExitCode>().Select(c => (int)c));
        Assert.Equal(203, (int)SystemdExitCode.Exec);
        Assert.Equal(224, (int)SystemdExitCode.Pam);
        Assert.Equal(235, (int)SystemdExitCode.Chown);
        Assert.Equal(241, (int)SystemdExitCode.ConfigurationDirectory);
        Assert.Equal(243, (int)SystemdExitCode.Credentials);
        Assert.Equal(236, (int)SystemdExitCode.SmackProcessLabel);
        Assert.Equal(237, (int)SystemdExitCode.Keyring);
        Assert.Equal(244, (int)SystemdExitCode.Bpf);
        Assert.Equal(245, (int)SystemdExitCode.Ksm);
        Assert.Equal(246, (int)SystemdExitCode.LandlockConfig);
    }

    [Fact]
    public void Unhandled_exception_report_has_a_crit_prefix_on_every_line()
    {
        Exception e;
        try
        {
            throw new InvalidOperationException("boom\nsecond line");
        }
        catch (InvalidOperationException caught)
        {
            e = caught;
        }

        string text = SdDaemon.UnhandledExceptionExit.Format(e);
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 3);
        Assert.All(lines, l => Assert.StartsWith("<2>", l, StringComparison.Ordinal));
        Assert.StartsWith("<2>Unhandled exception, exiting with 70: System.InvalidOperationException: boom", lines[0], StringComparison.Ordinal);
        Assert.Equal("<2>second line", lines[1]);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_unhandled_exception_report_escapes_control_characters_and_splits_at_LineMax_like_every_stream_record()
    {
        // Spec J-1. The report had its own <N> encoder: an ESC went to the terminal raw, and a 60,000-byte message
        // left as one line that journald would cut into a second record without a priority.
        string text = SdDaemon.UnhandledExceptionExit.Format(new InvalidOperationException("red \u001b[31m" + new string('x', 60_000)));
        string[] lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("<2>Unhandled exception, exiting with 70: System.InvalidOperationException: red \\x1b[31mxxx", lines[0], StringComparison.Ordinal);
        Assert.Equal(49_152 - 1, System.Text.Encoding.UTF8.GetByteCount(lines[0])); // with its newline, the record is LineMax long
        Assert.StartsWith("<2>xxx", lines[1], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.StartsWith("<2>", l, StringComparison.Ordinal));
    }
}
