using SdDaemon.Tests.Activation;
using Xunit;

namespace SdDaemon.Tests.Watchdog;

/// <summary>The WATCHDOG_* table of spec W-1..W-3, against a fake environment.</summary>
public sealed class WatchdogCheckTests
{
    private const int Pid = 4242;

    private static DictionaryEnvironment Env(string? usec, string? pid = null) =>
        new(("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid));

    private static WatchdogStatus Check(DictionaryEnvironment env, bool unset = false) =>
        SdDaemon.Watchdog.Check(env, Pid, unset);

    [Fact]
    public void W1_unset_is_disabled()
    {
        WatchdogStatus s = Check(Env(null, "4242"));
        Assert.Equal(WatchdogOutcome.Disabled, s.Outcome);
        Assert.Equal(TimeSpan.Zero, s.Timeout);
    }

    [Theory]
    [InlineData("1000000", 1_000_000UL)]
    [InlineData("1", 1UL)]
    [InlineData(" 30000000", 30_000_000UL)]
    [InlineData("0x10", 16UL)]
    [InlineData("010", 8UL)]
    [InlineData("18446744073709551614", 18446744073709551614UL)]
    public void W1_a_timeout_in_microseconds_is_enabled(string usec, ulong expected)
    {
        WatchdogStatus s = Check(Env(usec));
        Assert.Equal(WatchdogOutcome.Enabled, s.Outcome);
        Assert.Equal(expected, s.TimeoutMicroseconds);
        if (expected < 1_000_000_000UL)
        {
            Assert.Equal(TimeSpan.FromTicks((long)expected * 10), s.Timeout);
        }
        else
        {
            Assert.Equal(TimeSpan.MaxValue, s.Timeout);
        }
    }

    [Theory]
    [InlineData("0", 22)]
    [InlineData("18446744073709551615", 22)]
    [InlineData("18446744073709551616", 34)]
    [InlineData("-1", 34)]
    [InlineData("-0", 22)]
    [InlineData("1s", 22)]
    [InlineData("", 22)]
    [InlineData("abc", 22)]
    public void W1_malformed_zero_and_infinity_are_specific_errors(string usec, int errno)
    {
        WatchdogStatus s = Check(Env(usec));
        Assert.Equal(WatchdogOutcome.Failed, s.Outcome);
        Assert.Equal(errno, s.Errno);
        Assert.Contains("WATCHDOG_USEC", s.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void W2_our_pid_is_enabled_another_is_disabled()
    {
        Assert.Equal(WatchdogOutcome.Enabled, Check(Env("500000", "4242")).Outcome);
        Assert.Equal(WatchdogOutcome.Disabled, Check(Env("500000", "4243")).Outcome);
    }

    [Theory]
    [InlineData("x", 22)]
    [InlineData("0", 34)]
    [InlineData("-5", 34)]
    [InlineData("4294967296", 34)]
    public void W2_malformed_WATCHDOG_PID_is_an_error(string pid, int errno)
    {
        WatchdogStatus s = Check(Env("500000", pid));
        Assert.Equal(WatchdogOutcome.Failed, s.Outcome);
        Assert.Equal(errno, s.Errno);
    }

    [Theory]
    [InlineData("500000", "4242")]
    [InlineData("500000", "1")]
    [InlineData("500000", null)]
    [InlineData("0", "4242")]
    [InlineData("x", null)]
    [InlineData(null, "4242")]
    [InlineData("500000", "x")]
    public void W3_unsetEnvironment_removes_both_variables_on_every_path(string? usec, string? pid)
    {
        DictionaryEnvironment env = Env(usec, pid);
        env.Values["NOTIFY_SOCKET"] = "/kept";
        _ = Check(env, unset: true);
        Assert.Equal(["NOTIFY_SOCKET"], env.Values.Keys);
        Assert.Equal(["WATCHDOG_USEC", "WATCHDOG_PID"], env.Removed);
    }

    [Fact]
    public void W3_without_unsetEnvironment_nothing_is_removed()
    {
        DictionaryEnvironment env = Env("500000", "4242");
        _ = Check(env);
        Assert.Empty(env.Removed);
    }
}
