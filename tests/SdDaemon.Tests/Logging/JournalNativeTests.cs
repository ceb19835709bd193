using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>The native protocol (spec J-3, J-4) against a datagram socket that plays journald.</summary>
public sealed class JournalNativeTests
{
    [Fact]
    public void Fields_are_encoded_as_text_or_with_a_length_when_the_value_has_a_newline()
    {
        using var entry = new JournalEntry();
        entry.Add("MESSAGE", "hi").Add("MULTI", "a\nb").AddPriority(SyslogPriority.Notice).Add("NUMBER", -12L).Add("BIN", new byte[] { 0, (byte)'=', 0xff });
        byte[] expected =
        [
            .. "MESSAGE=hi\n"u8, .. "MULTI\n"u8, 3, 0, 0, 0, 0, 0, 0, 0, .. "a\nb\n"u8,
            .. "PRIORITY=5\n"u8, .. "NUMBER=-12\n"u8, .. "BIN="u8, 0, (byte)'=', 0xff, (byte)'\n',
        ];
        Assert.Equal(expected, entry.Encoded.ToArray());
        entry.Clear();
        Assert.Equal(0, entry.Length);
    }

    [Fact]
    public void A_long_multi_line_value_gets_its_exact_length()
    {
        using var entry = new JournalEntry();
        string value = string.Join('\n', Enumerable.Range(0, 5000).Select(i => "line " + i));
        entry.Add("MESSAGE", value);
        var fields = NativeEntry.Parse(entry.Encoded);
        Assert.Equal("MESSAGE", Assert.Single(fields).Key);
        Assert.Equal(value, Encoding.UTF8.GetString(fields[0].Value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("_TRUSTED")]
    [InlineData("1ABC")]
    [InlineData("lower")]
    [InlineData("WITH-DASH")]
    [InlineData("É")]
    public void Invalid_field_names_are_the_callers_bug(string name)
    {
        using var entry = new JournalEntry();
        Assert.Throws<ArgumentException>(() => entry.Add(name, "x"));
        Assert.False(JournalField.IsValidName(name));
    }

    [Fact]
    public void A_name_of_64_characters_is_valid_and_65_is_not()
    {
        Assert.True(JournalField.IsValidName(new string('A', 64)));
        Assert.False(JournalField.IsValidName(new string('A', 65)));
        Assert.True(JournalField.IsValidName("A1_B"));
    }

    [Theory]
    [InlineData("UserId", "USER_ID")]
    [InlineData("userId", "USER_ID")]
    [InlineData("HTTPStatus", "HTTP_STATUS")]
    [InlineData("Count", "COUNT")]
    [InlineData("user.name", "USER_NAME")]
    [InlineData("already_SNAKE", "ALREADY_SNAKE")]
    [InlineData("_hidden", "HIDDEN")]
    [InlineData("__x", "X")]
    [InlineData("1st", "F1ST")]
    [InlineData("Value2Go", "VALUE2_GO")]
    [InlineData("naïve", "NA_VE")]
    [InlineData("", "FIELD")]
    [InlineData("@", "FIELD")]
    public void Arbitrary_names_are_mapped_to_the_journals_rules(string name, string expected)
    {
        string mapped = JournalField.MapName(name);
        Assert.Equal(expected, mapped);
        Assert.True(JournalField.IsValidName(mapped));
    }

    [Fact]
    public void A_mapped_name_is_cut_at_64_characters()
    {
        string mapped = JournalField.MapName(new string('a', 100));
        Assert.Equal(new string('A', 64), mapped);
    }

    [Fact]
    public void An_entry_arrives_as_one_datagram_with_exactly_its_bytes()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        using var entry = new JournalEntry();
        entry.Add("MESSAGE", "hello\nworld").AddPriority(SyslogPriority.Err).Add("SYSLOG_IDENTIFIER", "t");
        Assert.Equal(JournalSendResult.Sent, writer.Send(entry));
        JournalReceiver.Datagram datagram = receiver.Receive();
        Assert.Equal(entry.Encoded.ToArray(), datagram.Data);
        Assert.Empty(datagram.Fds);
    }

    [Fact]
    public void After_journald_restarts_the_writer_reconnects_by_itself()
    {
        string path;
        using var writer = CreateAndSendOnce(out path);
        // The old receiver is gone (its socket file removed); a new one binds the same path.
        using var second = new JournalReceiver(path);
        Assert.Equal(JournalSendResult.Sent, writer.Send("MESSAGE=again\n"u8));
        Assert.Equal("MESSAGE=again\n"u8.ToArray(), second.Receive().Data);
    }

    private static JournalNativeWriter CreateAndSendOnce(out string path)
    {
        path = Path.Combine(Path.GetTempPath(), "sdd-restart-" + Guid.NewGuid().ToString("N")[..12]);
        using var bound = new JournalReceiver(path);
        var writer = JournalNativeWriter.Create(path);
        Assert.Equal(JournalSendResult.Sent, writer.Send("MESSAGE=once\n"u8));
        Assert.Equal("MESSAGE=once\n"u8.ToArray(), bound.Receive().Data);
        return writer;
    }

    [Fact]
    public void A_missing_journald_is_NotListening_not_an_error()
    {
        using var writer = JournalNativeWriter.Create("/nonexistent-" + Guid.NewGuid().ToString("N") + "/socket");
        JournalSendResult result = writer.Send("MESSAGE=x\n"u8);
        Assert.Equal(JournalSendOutcome.NotListening, result.Outcome);
        Assert.Equal(2, result.Errno); // ENOENT
        Assert.False(result.IsSent);
    }

    [Fact]
    public void An_entry_the_kernel_refuses_as_a_datagram_goes_through_a_sealed_memfd()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        using var entry = new JournalEntry();
        // Larger than any send buffer the writer can get (it asks for 8 MiB): EMSGSIZE.
        string big = string.Concat(Enumerable.Repeat("0123456789abcdef\n", 600_000)); // ~10 MiB
        entry.Add("MESSAGE", big).AddPriority(SyslogPriority.Info);

        Assert.Equal(JournalSendResult.Sent, writer.Send(entry));
        AssertMemfd(entry, receiver.Receive());
    }

    [Fact]
    public void MaxDatagramSize_sends_larger_entries_through_a_memfd_directly()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        writer.MaxDatagramSize = 1024 * 1024;
        using var entry = new JournalEntry();
        entry.Add("MESSAGE", new string('x', 1024 * 1024)).AddPriority(SyslogPriority.Info);
        Assert.Equal(JournalSendResult.Sent, writer.Send(entry));
        AssertMemfd(entry, receiver.Receive());

        entry.Clear();
        entry.Add("MESSAGE", "small");
        Assert.Equal(JournalSendResult.Sent, writer.Send(entry));
        Assert.Equal(entry.Encoded.ToArray(), receiver.Receive().Data);
    }

    private static void AssertMemfd(JournalEntry entry, JournalReceiver.Datagram datagram)
    {
        Assert.Empty(datagram.Data);
        Assert.Single(datagram.Fds);
        Assert.Equal(0x1 | 0x2 | 0x4 | 0x8, datagram.Seals); // SEAL|SHRINK|GROW|WRITE, exactly
        Assert.Equal(entry.Encoded.ToArray(), datagram.MemfdContent);
    }

    [Fact]
    public void The_provider_sends_structured_fields_from_the_template_scopes_and_exception()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        var provider = JournalLoggerProvider.Create(
            new JournalLoggerOptions { Output = JournalOutput.Native, IncludeScopes = true, SyslogIdentifier = "ident" },
            new RecordingStream(),
            writer);
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        ILogger logger = factory.CreateLogger("Shop.Orders");

        CultureInfo saved = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = comma;
        Exception error = Throw();
        try
        {
            using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "r-7", ["Attempt"] = 2 }))
            using (logger.BeginScope("plain scope"))
            {
                logger.LogWarning(new EventId(7, "Bought"), error, "User {UserId} bought {Count} at {Price} ({Message})", "alice", 3, 1.5, "m\nn");
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }

        var fields = NativeEntry.ToDictionary(NativeEntry.Parse(receiver.Receive().Data));
        Assert.StartsWith("User alice bought 3 at ", fields["MESSAGE"], StringComparison.Ordinal);
        Assert.Contains("\nSystem.InvalidOperationException: boom\n ---> System.ArgumentException: root cause", fields["MESSAGE"], StringComparison.Ordinal);
        Assert.Equal("4", fields["PRIORITY"]);
        Assert.Equal("ident", fields["SYSLOG_IDENTIFIER"]);
        Assert.Equal("Shop.Orders", fields["LOGGER_CATEGORY"]);
        Assert.Equal("7", fields["EVENT_ID"]);
        Assert.Equal("Bought", fields["EVENT_NAME"]);
        Assert.Equal("User {UserId} bought {Count} at {Price} ({Message})", fields["MESSAGE_TEMPLATE"]);
        Assert.Equal("alice", fields["USER_ID"]);
        Assert.Equal("3", fields["COUNT"]);
        Assert.Equal("1.5", fields["PRICE"]);
        Assert.Equal("m\nn", fields["ARG_MESSAGE"]);
        Assert.Equal("r-7", fields["REQUEST_ID"]);
        Assert.Equal("2", fields["ATTEMPT"]);
        Assert.Equal("plain scope", fields["SCOPE"]);
        Assert.Equal("System.InvalidOperationException", fields["EXCEPTION_TYPE"]);
        Assert.Equal("boom", fields["EXCEPTION_MESSAGE"]);
        Assert.Contains(nameof(Throw), fields["EXCEPTION_STACKTRACE"], StringComparison.Ordinal);
    }

    [Fact]
    public void Notice_reaches_the_journal_as_priority_5_with_its_template_fields()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        var provider = JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.Native, SyslogIdentifier = "i" }, new RecordingStream(), writer);
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        factory.CreateLogger("C").LogNotice("reloaded {When}", new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        var fields = NativeEntry.ToDictionary(NativeEntry.Parse(receiver.Receive().Data));
        Assert.Equal("5", fields["PRIORITY"]);
        Assert.Equal("2024-05-06T07:08:09.0000000Z", fields["WHEN"]);
        Assert.Equal("reloaded {When}", fields["MESSAGE_TEMPLATE"]);
        Assert.False(fields.ContainsKey("SCOPE"));
    }

    [Fact]
    public void Without_journald_the_provider_falls_back_to_prefixed_stderr()
    {
        using var writer = JournalNativeWriter.Create("/nonexistent-" + Guid.NewGuid().ToString("N") + "/socket");
        var sink = new RecordingStream();
        var provider = JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.Native }, sink, writer);
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        factory.CreateLogger("Cat").LogError("lost\njournald");
        Assert.Equal("<3>Cat: lost\n<3>journald\n", sink.Text);
    }

    [Fact]
    public async Task Many_threads_share_the_one_socket()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        var seen = new HashSet<string>();
        // A thread of its own: on a pool thread the receiver could wait behind Parallel.For's senders, which
        // block on the full queue until their send timeout (seen on a loaded 2-core machine).
        Task receiving = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                seen.Add(NativeEntry.ToDictionary(NativeEntry.Parse(receiver.Receive().Data))["MESSAGE"]);
            }
        }, TaskCreationOptions.LongRunning);
        Parallel.For(0, 4, t =>
        {
            using var entry = new JournalEntry();
            for (int i = 0; i < 50; i++)
            {
                entry.Clear();
                entry.Add("MESSAGE", $"t{t} i{i}");
                Assert.True(writer.Send(entry).IsSent);
            }
        });

        await receiving.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(200, seen.Count);
    }

    private static Exception Throw()
    {
        try
        {
            try
            {
                throw new ArgumentException("root cause");
            }
            catch (ArgumentException inner)
            {
                throw new InvalidOperationException("boom", inner);
            }
        }
        catch (InvalidOperationException e)
        {
            return e;
        }
    }
}
