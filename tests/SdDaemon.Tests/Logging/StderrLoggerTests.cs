using System.Text;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>The &lt;N&gt; stderr form (spec J-1): exact bytes.</summary>
public sealed class StderrLoggerTests
{
    private static (StderrLogger Logger, RecordingStream Sink) Make(int lineMax = StderrLogger.DefaultLineMax, bool prefix = true)
    {
        var sink = new RecordingStream();
        return (new StderrLogger(sink, lineMax, prefix), sink);
    }

    [Theory]
    [InlineData(SyslogPriority.Emerg, "<0>hello\n")]
    [InlineData(SyslogPriority.Alert, "<1>hello\n")]
    [InlineData(SyslogPriority.Crit, "<2>hello\n")]
    [InlineData(SyslogPriority.Err, "<3>hello\n")]
    [InlineData(SyslogPriority.Warning, "<4>hello\n")]
    [InlineData(SyslogPriority.Notice, "<5>hello\n")]
    [InlineData(SyslogPriority.Info, "<6>hello\n")]
    [InlineData(SyslogPriority.Debug, "<7>hello\n")]
    public void Each_priority_is_its_digit_in_the_prefix(SyslogPriority priority, string expected)
    {
        var (logger, sink) = Make();
        logger.Log(priority, "hello");
        Assert.Equal(expected, sink.Text);
    }

    [Fact]
    public void The_named_shortcuts_use_their_priority()
    {
        var (logger, sink) = Make();
        logger.Emerg("a");
        logger.Alert("b");
        logger.Crit("c");
        logger.Err("d");
        logger.Warning("e");
        logger.Notice("f");
        logger.Info("g");
        logger.Debug("h");
        Assert.Equal("<0>a\n<1>b\n<2>c\n<3>d\n<4>e\n<5>f\n<6>g\n<7>h\n", sink.Text);
    }

    [Fact]
    public void Every_line_of_a_multi_line_message_carries_the_prefix_and_all_go_in_one_write()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Err, "first\nsecond\r\nthird\rfourth\n");
        Assert.Equal("<3>first\n<3>second\n<3>third\n<3>fourth\n", sink.Text);
        Assert.Single(sink.Writes);
    }

    [Fact]
    public void Empty_lines_and_empty_messages_write_nothing()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Info, "a\n\n\r\n\nb");
        logger.Log(SyslogPriority.Info, "");
        logger.Log(SyslogPriority.Info, (string?)null);
        logger.Log(SyslogPriority.Info, "\n\n");
        Assert.Equal("<6>a\n<6>b\n", sink.Text);
        Assert.Single(sink.Writes);
    }

    [Fact]
    public void A_message_cannot_forge_a_record_at_another_priority()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Info, "user input\n<0>forged emergency\r<1>forged alert");
        Assert.Equal("<6>user input\n<6><0>forged emergency\n<6><1>forged alert\n", sink.Text);
    }

    [Fact]
    public void Control_characters_are_escaped_and_tab_is_kept()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Warning, "a\0b\x1b[31mred\tc\x7f\u0085d\u009be é");
        Assert.Equal("<4>a\\x00b\\x1b[31mred\tc\\x7f\\xc2\\x85d\\xc2\\x9be é\n", sink.Text);
    }

    [Fact]
    public void Raw_bytes_pass_through_and_invalid_utf8_is_not_repaired()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Notice, new byte[] { (byte)'x', 0xff, 0xc3, (byte)'\n', 0xc3, 0xa9, 0x00 });
        Assert.Equal(new byte[] { (byte)'<', (byte)'5', (byte)'>', (byte)'x', 0xff, 0xc3, (byte)'\n', (byte)'<', (byte)'5', (byte)'>', 0xc3, 0xa9, (byte)'\\', (byte)'x', (byte)'0', (byte)'0', (byte)'\n' }, sink.Writes.Single());
    }

    [Fact]
    public void A_line_over_LineMax_is_split_into_prefixed_records_no_longer_than_LineMax()
    {
        var (logger, sink) = Make(lineMax: 16);
        logger.Log(SyslogPriority.Info, "abcdefghijklmnopqrstuvwxyz");
        // 16 = "<6>" + 12 bytes + "\n"
        Assert.Equal("<6>abcdefghijkl\n<6>mnopqrstuvwx\n<6>yz\n", sink.Text);
    }

    [Fact]
    public void A_split_never_cuts_a_utf8_character_or_an_escape()
    {
        var (logger, sink) = Make(lineMax: 17);
        string text = "é€😀\0" + new string('ü', 20) + "\u0085x";
        logger.Log(SyslogPriority.Info, text);
        string[] records = sink.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var rebuilt = new StringBuilder();
        foreach (string record in records)
        {
            Assert.StartsWith("<6>", record, StringComparison.Ordinal);
            Assert.True(Encoding.UTF8.GetByteCount(record) + 1 <= 17, record);
            Assert.DoesNotContain('\uFFFD', record);
            Assert.False(record.EndsWith('\\') || record.EndsWith("\\x", StringComparison.Ordinal), record);
            rebuilt.Append(record[3..]);
        }

        Assert.Equal(text.Replace("\0", "\\x00", StringComparison.Ordinal).Replace("\u0085", "\\xc2\\x85", StringComparison.Ordinal), rebuilt.ToString());
    }

    [Fact]
    public void The_default_LineMax_is_journalds_48_KiB()
    {
        var (logger, sink) = Make();
        logger.Log(SyslogPriority.Debug, new string('a', 100_000));
        string[] records = sink.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, records.Length);
        Assert.Equal(49152 - 1, records[0].Length);
        Assert.Equal(49152 - 1, records[1].Length);
        Assert.Equal("<7>" + new string('a', 100_000 - (2 * (49152 - 4))), records[2]);
        Assert.Single(sink.Writes);
    }

    [Fact]
    public void Concurrent_writers_never_interleave_within_a_message()
    {
        var (logger, sink) = Make();
        const int Threads = 8;
        const int Messages = 300;
        Parallel.For(0, Threads, new ParallelOptions { MaxDegreeOfParallelism = Threads }, t =>
        {
            for (int m = 0; m < Messages; m++)
            {
                logger.Log((SyslogPriority)(t % 8), $"t{t} m{m} line1\nt{t} m{m} line2\nt{t} m{m} line3");
            }
        });

        Assert.Equal(Threads * Messages, sink.Writes.Count);
        foreach (byte[] write in sink.Writes)
        {
            string[] lines = Encoding.UTF8.GetString(write).Split('\n');
            Assert.Equal(4, lines.Length);
            Assert.Equal("", lines[3]);
            string head = lines[0][3..^6]; // "tX mY"
            int t = int.Parse(head[1..head.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            for (int l = 0; l < 3; l++)
            {
                Assert.Equal($"<{t % 8}>{head} line{l + 1}", lines[l]);
            }
        }
    }

    [Fact]
    public void The_TextWriter_emits_complete_lines_and_keeps_a_partial_one_until_flushed()
    {
        var (logger, sink) = Make();
        using (TextWriter writer = logger.Writer(SyslogPriority.Warning))
        {
            writer.Write("par");
            Assert.Empty(sink.Writes);
            writer.Write("tial\nne");
            Assert.Equal("<4>partial\n", sink.Text);
            writer.WriteLine("xt");
            writer.Write('z');
            writer.Write("\r");
            writer.Write("\nlast");
            Assert.Equal("<4>partial\n<4>next\n<4>z\n", sink.Text);
        }

        Assert.Equal("<4>partial\n<4>next\n<4>z\n<4>last\n", sink.Text);
    }

    [Fact]
    public void The_Stream_emits_complete_lines_and_keeps_a_partial_one_until_flushed()
    {
        var (logger, sink) = Make();
        using (Stream stream = logger.OpenStream(SyslogPriority.Crit))
        {
            stream.Write("par"u8);
            Assert.Empty(sink.Writes);
            stream.Write("tial\r\nne"u8);
            Assert.Equal("<2>partial\n", sink.Text);
            stream.Write("xt\x01\n"u8);
            stream.Write("last"u8);
            stream.Flush();
            stream.Write("after flush"u8);
        }

        Assert.Equal("<2>partial\n<2>next\\x01\n<2>last\n<2>after flush\n", sink.Text);
        Assert.Throws<ArgumentOutOfRangeException>(() => logger.OpenStream((SyslogPriority)9));
    }

    [Fact]
    public void Without_prefix_lines_are_plain()
    {
        var (logger, sink) = Make(prefix: false);
        logger.Log(SyslogPriority.Err, "a\nb");
        Assert.Equal("a\nb\n", sink.Text);
        Assert.False(logger.UsesPrefix);
    }

    [Fact]
    public void Bad_arguments_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new StderrLogger(new MemoryStream(), lineMax: 15));
        Assert.Throws<ArgumentNullException>(() => new StderrLogger(null!));
        var (logger, _) = Make();
        Assert.Throws<ArgumentOutOfRangeException>(() => logger.Log((SyslogPriority)8, "x"));
    }
}
