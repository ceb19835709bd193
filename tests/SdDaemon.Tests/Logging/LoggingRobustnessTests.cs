using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Interop;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>What a reviewer found: a stalled stderr reader, unbounded buffers and retries, a missing
/// journald paid for on every call.</summary>
public sealed unsafe class LoggingRobustnessTests
{
    private const int O_NONBLOCK = 0x800;
    private const int F_SETFL = 4;

    private static (int Read, int Write) MakePipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.Pipe2(fds, 0x80000 /* O_CLOEXEC */));
        return (fds[0], fds[1]);
    }

    /// <summary>Everything readable now from a descriptor made non-blocking (the test's own end).</summary>
    private static byte[] Drain(int fd)
    {
        Assert.Equal(0, Libc.Fcntl(fd, F_SETFL, O_NONBLOCK));
        var all = new MemoryStream();
        byte[] chunk = new byte[65536];
        fixed (byte* c = chunk)
        {
            while (true)
            {
                nint n = Libc.Read(fd, c, (nuint)chunk.Length);
                if (n <= 0)
                {
                    break;
                }

                all.Write(chunk, 0, (int)n);
            }
        }

        return all.ToArray();
    }

    /// <summary>Runs <paramref name="action"/> on another thread and returns how long it took; fails
    /// (instead of hanging the test run) when it does not return within 10 seconds.</summary>
    private static TimeSpan Timed(Action action)
    {
        var clock = Stopwatch.StartNew();
        Task task = Task.Factory.StartNew(action, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(task.Wait(TimeSpan.FromSeconds(10)), "the log call blocked");
        return clock.Elapsed;
    }

    [Fact]
    public void A_pipe_nobody_reads_costs_a_log_call_at_most_the_timeout_and_later_records_start_a_line()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (readFd, writeFd) = MakePipe();
        try
        {
            // A 1 s timeout: "at once" below has 800 ms of room on a loaded machine and still tells
            // a call that waited out its own timeout (with 300 ms, the room was 250 ms).
            StderrLogger logger = StderrLogger.ForFileDescriptor(writeFd, writeTimeout: TimeSpan.FromSeconds(1));

            // 200 KB on one line: records of 48 KiB, more than the 64 KiB the pipe holds.
            string big = new('x', 200_000);
            TimeSpan first = Timed(() => logger.Info(big));
            Assert.InRange(first, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(5));
            long dropped = logger.DroppedRecords;
            Assert.True(dropped >= 2, $"dropped {dropped}");

            // Still full: later calls give up at once rather than each wait out its own timeout.
            TimeSpan second = Timed(() => logger.Err("while stalled"));
            Assert.True(second < TimeSpan.FromMilliseconds(800), $"took {second}");
            Assert.Equal(dropped + 1, logger.DroppedRecords);

            // The reader catches up: the next record starts a line with its own prefix.
            byte[] stalled = Drain(readFd);
            logger.Warning("after");
            byte[] after = Drain(readFd);
            string text = Encoding.ASCII.GetString([.. stalled, .. after]);
            Assert.EndsWith("\n<4>after\n", text, StringComparison.Ordinal);
            Assert.DoesNotContain("while stalled", text, StringComparison.Ordinal);
            foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                Assert.StartsWith("<6>x", line.Replace("<4>after", "<6>x", StringComparison.Ordinal), StringComparison.Ordinal);
            }

            Assert.Equal(dropped + 1, logger.DroppedRecords);
        }
        finally
        {
            _ = Libc.Close(readFd);
            _ = Libc.Close(writeFd);
        }
    }

    [Fact]
    public void A_stream_socket_nobody_reads_costs_a_log_call_at_most_the_timeout()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.SocketPair(1 /* AF_UNIX */, 1 /* SOCK_STREAM */ | 0x80000, 0, fds));
        int reader = fds[0];
        int writer = fds[1];
        try
        {
            StderrLogger logger = StderrLogger.ForFileDescriptor(writer, writeTimeout: TimeSpan.FromMilliseconds(300));
            string line = new('y', 40_000);
            TimeSpan took = Timed(() =>
            {
                for (int i = 0; i < 200 && logger.DroppedRecords == 0; i++)
                {
                    logger.Info(line);
                }
            });
            Assert.True(logger.DroppedRecords > 0);
            Assert.True(took < TimeSpan.FromSeconds(5), $"took {took}");

            byte[] stalled = Drain(reader);
            logger.Notice("after");
            string text = Encoding.ASCII.GetString([.. stalled, .. Drain(reader)]);
            Assert.EndsWith("\n<5>after\n", text, StringComparison.Ordinal);
        }
        finally
        {
            _ = Libc.Close(reader);
            _ = Libc.Close(writer);
        }
    }

    [Fact]
    public void A_closed_reader_drops_records_and_counts_them_without_throwing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (readFd, writeFd) = MakePipe();
        _ = Libc.Close(readFd);
        try
        {
            StderrLogger logger = StderrLogger.ForFileDescriptor(writeFd);
            logger.Info("a\nb"); // EPIPE (SIGPIPE is ignored by the runtime)
            Assert.Equal(2, logger.DroppedRecords);
        }
        finally
        {
            _ = Libc.Close(writeFd);
        }
    }

    [Fact]
    public void ForFileDescriptor_rejects_bad_arguments()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => StderrLogger.ForFileDescriptor(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => StderrLogger.ForFileDescriptor(2, lineMax: 15));
        Assert.Throws<ArgumentOutOfRangeException>(() => StderrLogger.ForFileDescriptor(2, writeTimeout: TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void A_stream_destination_never_counts_drops()
    {
        var sink = new RecordingStream();
        var logger = new StderrLogger(sink);
        logger.Info("x");
        Assert.Equal(0, logger.DroppedRecords);
    }

    [Fact]
    public void The_TextWriter_emits_a_partial_line_in_whole_records_once_it_fills_one()
    {
        var sink = new RecordingStream();
        var logger = new StderrLogger(sink, lineMax: 16); // 12 characters of text per record
        using TextWriter writer = logger.Writer(SyslogPriority.Info);
        writer.Write("abcdefghijklmnopqrstuvwxyz");
        Assert.Equal("<6>abcdefghijkl\n<6>mnopqrstuvwx\n", sink.Text);

        foreach (char c in "0123456789")
        {
            writer.Write(c);
        }

        Assert.Equal("<6>abcdefghijkl\n<6>mnopqrstuvwx\n<6>yz0123456789\n", sink.Text);
        writer.Write("end\n");
        Assert.Equal("<6>abcdefghijkl\n<6>mnopqrstuvwx\n<6>yz0123456789\n<6>end\n", sink.Text);
    }

    [Fact]
    public void The_TextWriter_never_separates_a_surrogate_pair()
    {
        var sink = new RecordingStream();
        var logger = new StderrLogger(sink, lineMax: 16);
        using TextWriter writer = logger.Writer(SyslogPriority.Info);
        writer.Write("abcdefghijk\U0001F600"); // the pair's halves are characters 12 and 13
        Assert.Equal("<6>abcdefghijk\n", sink.Text);
        writer.Flush();
        Assert.Equal("<6>abcdefghijk\n<6>\U0001F600\n", sink.Text);
    }

    [Fact]
    public void The_Stream_emits_a_partial_line_in_whole_records_and_never_cuts_a_utf8_character()
    {
        var sink = new RecordingStream();
        var logger = new StderrLogger(sink, lineMax: 16);
        using Stream stream = logger.OpenStream(SyslogPriority.Err);
        stream.Write("abcdefghijklmnopqrstuvwxyz"u8);
        Assert.Equal("<3>abcdefghijkl\n<3>mnopqrstuvwx\n", sink.Text);

        stream.Write("012345678é"u8); // "yz012345678é" is 13 bytes: the 12-byte cut falls inside é
        Assert.Equal("<3>abcdefghijkl\n<3>mnopqrstuvwx\n<3>yz012345678\n", sink.Text);
        stream.Flush();
        Assert.Equal("<3>abcdefghijkl\n<3>mnopqrstuvwx\n<3>yz012345678\n<3>é\n", sink.Text);
    }

    [Fact]
    public void The_Stream_keeps_at_most_a_record_of_a_line_without_end()
    {
        var sink = new RecordingStream();
        var logger = new StderrLogger(sink, lineMax: 1024);
        using Stream stream = logger.OpenStream(SyslogPriority.Info);
        byte[] chunk = Encoding.ASCII.GetBytes(new string('z', 1000));
        for (int i = 0; i < 100; i++)
        {
            stream.Write(chunk);
        }

        // 100 000 bytes, 1020 per record: 98 records written, 40 bytes waiting.
        Assert.Equal(98 * 1024, sink.Writes.Sum(w => w.Length));
        stream.Flush();
        Assert.EndsWith("\n<6>" + new string('z', 40) + "\n", sink.Text, StringComparison.Ordinal);
    }

    /// <summary>An IUtf8SpanFormattable whose TryFormat never succeeds, whatever the room.</summary>
    private sealed class NeverFits : IUtf8SpanFormattable, IFormattable
    {
        public int Attempts { get; private set; }

        public bool TryFormat(Span<byte> utf8Destination, out int bytesWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        {
            Attempts++;
            bytesWritten = 0;
            return false;
        }

        public string ToString(string? format, IFormatProvider? formatProvider) => "fallback";

        public override string ToString() => "fallback";
    }

    [Fact]
    public void A_value_whose_TryFormat_never_succeeds_is_written_with_ToString()
    {
        using var receiver = new JournalReceiver();
        using var writer = JournalNativeWriter.Create(receiver.SocketPath);
        var provider = JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.Native }, new RecordingStream(), writer);
        using ILoggerFactory factory = LoggerFactory.Create(b => b.AddProvider(provider));
        ILogger logger = factory.CreateLogger("T");
        var value = new NeverFits();
        TimeSpan took = Timed(() =>
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.LogInformation("value {Value}", value);
            }
        });
        Assert.True(took < TimeSpan.FromSeconds(5));
        Dictionary<string, string> fields = NativeEntry.ToDictionary(NativeEntry.Parse(receiver.Receive().Data));
        Assert.Equal("fallback", fields["VALUE"]);
        Assert.InRange(value.Attempts, 1, 10);
    }

    [Fact]
    public void A_missing_journald_is_remembered_for_a_second_then_tried_again()
    {
        string directory = Directory.CreateTempSubdirectory("sdd-absent-").FullName;
        try
        {
            string path = Path.Combine(directory, "socket");
            using var writer = JournalNativeWriter.Create(path);
            var clock = Stopwatch.StartNew();
            Assert.Equal(JournalSendOutcome.NotListening, writer.Send("MESSAGE=1\n"u8).Outcome);

            using var receiver = new JournalReceiver(path);
            JournalSendResult cached = writer.Send("MESSAGE=2\n"u8);
            if (clock.Elapsed < TimeSpan.FromMilliseconds(900))
            {
                Assert.Equal(JournalSendOutcome.NotListening, cached.Outcome);
                Assert.Equal(2, cached.Errno); // the remembered ENOENT
            }

            // Half a second past the remembered second (counted from the first send, a little after
            // the clock started).
            Thread.Sleep(TimeSpan.FromSeconds(1.5) - clock.Elapsed is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
            Assert.Equal(JournalSendResult.Sent, writer.Send("MESSAGE=3\n"u8));
            Assert.Equal("MESSAGE=3\n"u8.ToArray(), receiver.Receive().Data);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
