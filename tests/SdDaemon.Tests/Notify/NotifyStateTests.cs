using System.Globalization;
using System.Text;
using Xunit;

namespace SdDaemon.Tests.Notify;

/// <summary>The typed assignments: exact text, and ArgumentException for what the manager would misread.</summary>
public sealed class NotifyStateTests
{
    [Theory]
    [InlineData("READY=1")]
    [InlineData("RELOADING=1")]
    [InlineData("STOPPING=1")]
    [InlineData("WATCHDOG=1")]
    [InlineData("WATCHDOG=trigger")]
    [InlineData("FDSTORE=1")]
    [InlineData("FDSTOREREMOVE=1")]
    [InlineData("FDPOLL=0")]
    public void Constant_states_have_their_exact_wire_text(string expected)
    {
        NotifyState[] all =
        [
            NotifyState.Ready, NotifyState.Reloading, NotifyState.Stopping, NotifyState.Watchdog,
            NotifyState.WatchdogTrigger, NotifyState.FdStore, NotifyState.FdStoreRemove, NotifyState.FdPollDisabled,
        ];
        NotifyState state = Assert.Single(all, s => s.ToString() == expected);
        Assert.Equal(Encoding.UTF8.GetBytes(expected), state.Utf8);
    }

    [Fact]
    public void Parameterized_states_format_numbers_in_decimal_and_time_in_microseconds()
    {
        Assert.Equal("STATUS=serving 3 clients", NotifyState.Status("serving 3 clients").ToString());
        Assert.Equal("STATUS=", NotifyState.Status("").ToString());
        Assert.Equal("ERRNO=110", NotifyState.Errno(110).ToString());
        Assert.Equal("BUSERROR=org.freedesktop.DBus.Error.TimedOut", NotifyState.BusError("org.freedesktop.DBus.Error.TimedOut").ToString());
        Assert.Equal("EXIT_STATUS=78", NotifyState.ExitStatus(78).ToString());
        Assert.Equal("MAINPID=4242", NotifyState.MainPid(4242).ToString());
        Assert.Equal("EXTEND_TIMEOUT_USEC=1500000", NotifyState.ExtendTimeout(TimeSpan.FromSeconds(1.5)).ToString());
        Assert.Equal("EXTEND_TIMEOUT_USEC=1", NotifyState.ExtendTimeout(TimeSpan.FromTicks(1)).ToString()); // rounds up, never 0
        Assert.Equal("WATCHDOG_USEC=30000000", NotifyState.WatchdogUsec(TimeSpan.FromSeconds(30)).ToString());
        Assert.Equal("WATCHDOG_USEC=0", NotifyState.WatchdogUsec(TimeSpan.Zero).ToString());
        Assert.Equal("WATCHDOG_USEC=18446744073709551615", NotifyState.WatchdogUsec(Timeout.InfiniteTimeSpan).ToString());
        Assert.Equal("MONOTONIC_USEC=123", NotifyState.MonotonicUsec(123).ToString());
        Assert.Equal("FDNAME=http-listener", NotifyState.FdName("http-listener").ToString());
        Assert.Equal("NOTIFYACCESS=exec", NotifyState.NotifyAccessChange(NotifyAccess.Exec).ToString());
        Assert.Equal("RESTART_RESET=1", NotifyState.RestartReset.ToString());
        Assert.Equal("VARLINKERROR=org.varlink.service.InvalidParameter", NotifyState.VarlinkError("org.varlink.service.InvalidParameter").ToString());
        Assert.Equal("VARLINKERROR=io.systemd-x.Unit9.NoSuchUnit2", NotifyState.VarlinkError("io.systemd-x.Unit9.NoSuchUnit2").ToString());
        Assert.Equal("X_APP_PHASE=migrating", NotifyState.Assignment("X_APP_PHASE", "migrating").ToString());
        Assert.Equal(Encoding.UTF8.GetBytes("STATUS=ünïcödé ✓"), NotifyState.Status("ünïcödé ✓").Utf8);
    }

    [Fact]
    public void N19_numbers_are_written_in_ASCII_digits_from_0_to_ulong_MaxValue()
    {
        // The send path formats numbers itself, never through a culture (spec N-19): every digit
        // count and both ends of each parameter's range.
        ulong power = 1; // 10^(digits - 1)
        for (int digits = 1; digits <= 20; digits++, power *= 10)
        {
            Assert.Equal("MONOTONIC_USEC=1" + new string('0', digits - 1), NotifyState.MonotonicUsec(power).ToString());
            if (digits < 20)
            {
                Assert.Equal("MONOTONIC_USEC=" + new string('9', digits), NotifyState.MonotonicUsec((power * 10) - 1).ToString());
            }
        }

        Assert.Equal("MONOTONIC_USEC=0", NotifyState.MonotonicUsec(0).ToString());
        Assert.Equal("MONOTONIC_USEC=18446744073709551615", NotifyState.MonotonicUsec(ulong.MaxValue).ToString());
        Assert.Equal("ERRNO=0", NotifyState.Errno(0).ToString());
        Assert.Equal("ERRNO=2147483647", NotifyState.Errno(int.MaxValue).ToString());
        Assert.Equal("EXIT_STATUS=0", NotifyState.ExitStatus(0).ToString());
        Assert.Equal("EXIT_STATUS=255", NotifyState.ExitStatus(255).ToString());
        Assert.Equal("MAINPID=1", NotifyState.MainPid(1).ToString());
        Assert.Equal("MAINPID=2147483647", NotifyState.MainPid(int.MaxValue).ToString());
        Assert.Equal("EXTEND_TIMEOUT_USEC=922337203685477581", NotifyState.ExtendTimeout(TimeSpan.MaxValue).ToString());
        Assert.Equal("MAINPIDFDID=1", NotifyState.MainPidFdId(1).ToString());
        Assert.Equal("MAINPIDFDID=18446744073709551615", NotifyState.MainPidFdId(ulong.MaxValue).ToString());
    }

    [Fact]
    public void MonotonicUsec_reads_CLOCK_MONOTONIC_in_microseconds()
    {
        // Stopwatch reads CLOCK_MONOTONIC in nanoseconds on Linux.
        Assert.Equal(1_000_000_000, System.Diagnostics.Stopwatch.Frequency);
        ulong before = (ulong)System.Diagnostics.Stopwatch.GetTimestamp() / 1000;
        ulong value = ulong.Parse(NotifyState.MonotonicUsec().Value, CultureInfo.InvariantCulture);
        ulong after = (ulong)System.Diagnostics.Stopwatch.GetTimestamp() / 1000;
        Assert.InRange(value, before, after);
    }

    [Fact]
    public void Numbers_are_culture_invariant()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            // Arabic (Saudi Arabia) formats with native digits and other separators in some runtimes.
            CultureInfo.CurrentCulture = new CultureInfo("ar-SA") { NumberFormat = { NativeDigits = ["٠", "١", "٢", "٣", "٤", "٥", "٦", "٧", "٨", "٩"], NegativeSign = "−" } };
            Assert.Equal("MAINPID=1234567", NotifyState.MainPid(1234567).ToString());
            Assert.Equal("EXTEND_TIMEOUT_USEC=2500000", NotifyState.ExtendTimeout(TimeSpan.FromSeconds(2.5)).ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    // Spec N-7: the manager splits on \n and \r and reads a backslash as an escape.
    [Theory]
    [InlineData("two\nlines", "line feed")]
    [InlineData("carriage\rreturn", "carriage return")]
    [InlineData("nul\0byte", "NUL")]
    [InlineData("ends in \\", "lone backslash")]
    [InlineData("ends in \\\\\\", "lone backslash")]
    public void N7_Status_rejects_what_the_manager_would_split_or_drop(string text, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => NotifyState.Status(text));
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal("text", e.ParamName);
    }

    [Fact]
    public void N7_an_even_run_of_trailing_backslashes_is_a_valid_value()
    {
        Assert.Equal("STATUS=C:\\\\", NotifyState.Status("C:\\\\").ToString());
    }

    [Fact]
    public void Status_rejects_invalid_UTF16_and_text_over_16KiB()
    {
        Assert.Contains("surrogate", Assert.Throws<ArgumentException>(() => NotifyState.Status("bad \uD800 half")).Message, StringComparison.Ordinal);
        Assert.Contains("16384", Assert.Throws<ArgumentException>(() => NotifyState.Status(new string('x', 16 * 1024 + 1))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has:colon")]
    [InlineData("tab\there")]
    [InlineData("del\u007f")]
    [InlineData("ünicode")]
    public void FdName_rejects_what_fdname_is_valid_rejects(string name)
    {
        Assert.Throws<ArgumentException>(() => NotifyState.FdName(name));
    }

    [Fact]
    public void FdName_allows_255_characters_not_256()
    {
        Assert.Equal(255, NotifyState.FdName(new string('a', 255)).Value.Length);
        Assert.Throws<ArgumentException>(() => NotifyState.FdName(new string('a', 256)));
    }

    [Fact]
    public void Invalid_arguments_of_the_typed_states_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.MainPid(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.MainPid(-5));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.Errno(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.ExitStatus(256));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.ExtendTimeout(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.ExtendTimeout(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => NotifyState.WatchdogUsec(TimeSpan.FromSeconds(-1)));
        Assert.Throws<ArgumentException>(() => NotifyState.BusError("NoDots"));
        Assert.Throws<ArgumentException>(() => NotifyState.BusError("org.1digit.Error"));
        Assert.Throws<ArgumentException>(() => NotifyState.BusError("org..Empty"));
        // Varlink: an interface of two or more elements, then a capitalised member name.
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.Error"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.example.lowercase"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.example."));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("1org.example.Error"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.-dash.Error"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org..example.Error"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.example.Bad_Name"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.example.Bad\nName"));
        Assert.Throws<ArgumentException>(() => NotifyState.VarlinkError("org.example." + new string('E', 250)));
        Assert.Throws<ArgumentException>(() => NotifyState.Assignment("X_lower", "x"));
        Assert.Throws<ArgumentException>(() => NotifyState.Assignment("X_A", "1\nREADY=1"));
        Assert.Throws<ArgumentException>(() => NotifyState.Assignment("BARRIER", "1"));
        Assert.Throws<ArgumentException>(() => NotifyState.Assignment("", "1"));
        Assert.Equal("RESTART_RESET=1", NotifyState.Assignment("RESTART_RESET", "1").ToString());
    }

    [Fact]
    public void StatusFrom_makes_any_text_a_valid_STATUS_that_the_manager_reads_back_as_written_N7()
    {
        NotifyState state = NotifyState.StatusFrom("line 1\nline 2\r\0C:\\dir\\ \ud800!");
        Assert.Equal("line 1 line 2  C:\\\\dir\\\\ \ufffd!", state.Value);
        var lines = NotifyDatagramReader.Split(state.Utf8, out string? dropReason);
        Assert.Null(dropReason);
        Assert.Equal(["STATUS=line 1 line 2  C:\\dir\\ \ufffd!"], lines);

        // Cut at 1000 bytes of UTF-8, never inside a character: 333 three-byte characters and no more.
        NotifyState cut = NotifyState.StatusFrom(new string('\u20ac', 400));
        Assert.Equal(new string('\u20ac', 333), cut.Value);
        Assert.Equal(NotifyState.StatusFromMaxBytes - 1, System.Text.Encoding.UTF8.GetByteCount(cut.Value));
    }
}
