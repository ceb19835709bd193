using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Interop;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>Issue 10, items 2 and 8: the stderr write stays within its bound while other writers
/// share the destination (spec J-6), and one stall policy serves stderr and the journal (spec J-5).</summary>
public sealed unsafe class StallAndOtherWritersTests
{
    private const int F_GETFL = 3;
    private const int O_NONBLOCK = 0x800;
    private const int F_DUPFD_CLOEXEC = 1030;

    private static (int Read, int Write) MakePipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.Pipe2(fds, Libc.O_CLOEXEC));
        return (fds[0], fds[1]);
    }

    private static string ReadAvailable(int fd)
    {
        byte[] buffer = new byte[65536];
        fixed (byte* b = buffer)
        {
            Libc.PollFd poll = new() { Fd = fd, Events = Libc.POLLIN };
            if (Libc.Poll(&poll, 1, 1000) <= 0)
            {
                return "";
            }

            nint n = Libc.Read(fd, b, (nuint)buffer.Length);
            return n <= 0 ? "" : Encoding.ASCII.GetString(buffer, 0, (int)n);
        }
    }

    [Fact]
    public void J6_other_writers_filling_the_pipe_between_poll_and_write_cannot_hold_a_log_call_past_its_timeout()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (readFd, writeFd) = MakePipe();
        int flagsBefore = Libc.Fcntl(writeFd, F_GETFL, 0);
        var writers = new List<Thread>();
        try
        {
            TimeSpan timeout = TimeSpan.FromMilliseconds(300);
            StderrLogger logger = StderrLogger.ForFileDescriptor(writeFd, writeTimeout: timeout);

            // Three other writers on the same blocking description (Console.Error, a child sharing
            // stderr): each blocks in write(2) and takes whatever room a reader makes.
            for (int i = 0; i < 3; i++)
            {
                var writer = new Thread(() =>
                {
                    byte[] chunk = new byte[65536];
                    chunk.AsSpan().Fill((byte)'o');
                    fixed (byte* c = chunk)
                    {
                        while (Libc.Write(writeFd, c, (nuint)chunk.Length) > 0)
                        {
                        }
                    }
                }) { IsBackground = true };
                writer.Start();
                writers.Add(writer);
            }

            // A reader that makes a page of room every 20 ms for 1.5 s, then stops reading.
            var reader = new Thread(() =>
            {
                byte[] page = new byte[4096];
                var clock = Stopwatch.StartNew();
                fixed (byte* p = page)
                {
                    while (clock.Elapsed < TimeSpan.FromSeconds(1.5))
                    {
                        _ = Libc.Read(readFd, p, (nuint)page.Length);
                        Thread.Sleep(20);
                    }
                }
            }) { IsBackground = true };
            reader.Start();

            // 2.5 s of 32 KB records: 8 pieces each, each raced for by the other writers.
            string record = new('x', 32_000);
            TimeSpan longest = TimeSpan.Zero;
            int calls = 0;
            var run = Task.Factory.StartNew(() =>
            {
                var total = Stopwatch.StartNew();
                while (total.Elapsed < TimeSpan.FromSeconds(2.5))
                {
                    var one = Stopwatch.StartNew();
                    logger.Info(record);
                    longest = one.Elapsed > longest ? one.Elapsed : longest;
                    calls++;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(run.Wait(TimeSpan.FromSeconds(15)), "a log call blocked (it wrote into a full pipe with a blocking write)");
            Assert.True(longest < timeout + TimeSpan.FromMilliseconds(400), $"the longest of {calls} calls took {longest}");
            Assert.True(logger.DroppedRecords > 0);
            reader.Join();

            // The shared description's flags were never touched.
            Assert.Equal(flagsBefore, Libc.Fcntl(writeFd, F_GETFL, 0));
            Assert.Equal(0, flagsBefore & O_NONBLOCK);
        }
        finally
        {
            _ = Libc.Close(readFd); // the other writers get EPIPE and end
            foreach (Thread writer in writers)
            {
                writer.Join(TimeSpan.FromSeconds(5));
            }

            _ = Libc.Close(writeFd);
        }
    }

    [Fact]
    public void J6_records_follow_a_redirection_of_the_descriptor_and_the_old_pipe_is_let_go()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (readA, writeA) = MakePipe();
        var (readB, writeB) = MakePipe();
        int fd = Libc.Fcntl(writeA, F_DUPFD_CLOEXEC, 0); // "fd 2", at first pipe A
        try
        {
            StderrLogger logger = StderrLogger.ForFileDescriptor(fd);
            logger.Info("one");
            Assert.Equal("<6>one\n", ReadAvailable(readA));

            Assert.Equal(fd, Libc.Dup2(writeB, fd)); // stderr redirected, as daemonization does
            _ = Libc.Close(writeA);
            logger.Info("two");
            Assert.Equal("<6>two\n", ReadAvailable(readB));

            // Nobody holds pipe A for writing any more: its reader sees the end of file.
            byte b;
            Assert.Equal((nint)0, Libc.Read(readA, &b, 1));
            Assert.Equal(0, logger.DroppedRecords);
        }
        finally
        {
            _ = Libc.Close(fd);
            _ = Libc.Close(readA);
            _ = Libc.Close(readB);
            _ = Libc.Close(writeB);
        }
    }

    [Fact]
    public void J6_a_file_is_written_through_the_shared_description_so_other_writers_keep_their_order()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string path = Path.Combine(Path.GetTempPath(), $"sdd-stderr-{Guid.NewGuid():N}");
        byte[] utf8Path = Encoding.UTF8.GetBytes(path + "\0");
        int fd;
        fixed (byte* p = utf8Path)
        {
            fd = Libc.Open(p, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_CLOEXEC, 0x180); // no O_APPEND: one shared offset
        }

        try
        {
            Assert.True(fd >= 0);
            StderrLogger logger = StderrLogger.ForFileDescriptor(fd);
            WriteRaw(fd, "a\n");
            logger.Info("b");
            WriteRaw(fd, "c\n");
            Assert.Equal("a\n<6>b\nc\n", File.ReadAllText(path));
        }
        finally
        {
            _ = Libc.Close(fd);
            File.Delete(path);
        }

        static void WriteRaw(int fd, string text)
        {
            byte[] bytes = Encoding.ASCII.GetBytes(text);
            fixed (byte* b = bytes)
            {
                Assert.Equal(bytes.Length, (int)Libc.Write(fd, b, (nuint)bytes.Length));
            }
        }
    }

    [Fact]
    public void J5_a_journald_that_stopped_reading_costs_one_timeout_then_log_calls_fall_back_at_once()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var journald = new JournalReceiver(); // alive (bound) but never reading
        using var writer = JournalNativeWriter.Create(journald.SocketPath);
        writer.SendTimeout = TimeSpan.FromMilliseconds(300);
        byte[] entry = Encoding.ASCII.GetBytes("MESSAGE=" + new string('f', 60_000) + "\n");
        int queued = 0;
        JournalSendResult result;
        while ((result = writer.Send(entry)).IsSent)
        {
            queued++;
        }

        Assert.Equal(11, result.Errno); // EAGAIN after waiting the timeout
        var stderr = new RecordingStream();
        using var provider = JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.Native }, stderr, writer);
        ILogger logger = provider.CreateLogger("Shop");
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
#pragma warning disable CA1873 // the argument is an int; the provider under test is always enabled
            logger.LogInformation("order {OrderId}", i);
#pragma warning restore CA1873
        }

        // Before: 5 x 300 ms. Now: the stall is remembered, as the stderr sink remembers one.
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(250), $"5 log calls took {clock.Elapsed}");
        Assert.Equal(5, stderr.Writes.Count); // each fell back to stderr, none was lost

        // journald reads again: the next entry goes through, and a later full queue is waited for again.
        for (int i = 0; i < queued; i++)
        {
            journald.Receive();
        }

        Assert.True(writer.Send(entry).IsSent);
        clock.Restart();
        while ((result = writer.Send(entry)).IsSent)
        {
        }

        Assert.Equal(11, result.Errno);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(250), $"the queue filling up again was not waited for: {clock.Elapsed}");
    }
}
