using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Interop;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>Runs alone: the pipe test keeps both cores busy (three writers and a reader), which would
/// make the timing of tests running beside it fail.</summary>
[CollectionDefinition(nameof(StallAndOtherWritersTests), DisableParallelization = true)]
public sealed class StallAndOtherWritersCollection;

/// <summary>Issue 10, items 2 and 8: the stderr write stays within its bound while other writers
/// share the destination (spec J-6), and one stall policy serves stderr and the journal (spec J-5).</summary>
[Collection(nameof(StallAndOtherWritersTests))]
public sealed unsafe partial class StallAndOtherWritersTests
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

            // A reader that drains as fast as it can for 250 ms, then stops for two seconds, four times:
            // while it drains, room appears and vanishes all the time (a write that found room with
            // poll then finds it taken); while it pauses, the pipe stays full.
            var reader = new Thread(() =>
            {
                byte[] chunk = new byte[16384];
                fixed (byte* p = chunk)
                {
                    for (int cycle = 0; cycle < 4; cycle++)
                    {
                        var draining = Stopwatch.StartNew();
                        while (draining.Elapsed < TimeSpan.FromMilliseconds(250))
                        {
                            _ = Libc.Read(readFd, p, (nuint)chunk.Length);
                        }

                        Thread.Sleep(2000);
                    }
                }
            }) { IsBackground = true };
            reader.Start();

            // Meanwhile 32 KB records (8 pieces each), until the reader is done.
            string record = new('x', 32_000);
            TimeSpan longest = TimeSpan.Zero;
            int calls = 0;
            var run = Task.Factory.StartNew(() =>
            {
                while (reader.IsAlive)
                {
                    var one = Stopwatch.StartNew();
                    logger.Info(record);
                    longest = one.Elapsed > longest ? one.Elapsed : longest;
                    calls++;
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            Assert.True(run.Wait(TimeSpan.FromSeconds(20)), "a log call blocked (it wrote into a full pipe with a blocking write)");
            // A call held by a blocking write lasts until the reader is back (2 s); one bounded by its
            // timeout lasts 300 ms, plus whatever a loaded machine keeps its thread waiting.
            Assert.True(longest < timeout + TimeSpan.FromSeconds(1), $"the longest of {calls} calls took {longest}");
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
    public void J6_a_terminal_with_less_room_than_a_record_costs_a_log_call_at_most_the_timeout()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // A pseudo-terminal whose reader (the terminal emulator) is behind: a poll that says
        // writable (the tty reports room from 256 bytes on) followed by a blocking write of a
        // 4 KB piece waits until the reader catches up, here for ever.
        int master = Pty.OpenMaster(Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC);
        Assert.True(master >= 0);
        Assert.Equal(0, Pty.Grant(master));
        Assert.Equal(0, Pty.Unlock(master));
        byte* name = stackalloc byte[128];
        Assert.Equal(0, Pty.Name(master, name, 128));
        int terminal = Libc.Open(name, Libc.O_RDWR | Libc.O_NOCTTY | Libc.O_CLOEXEC, 0); // blocking, as fd 2 is
        int filler = Libc.Open(name, Libc.O_WRONLY | Libc.O_NOCTTY | Libc.O_CLOEXEC | O_NONBLOCK, 0);
        try
        {
            Assert.True(terminal >= 0 && filler >= 0);
            int flagsBefore = Libc.Fcntl(terminal, F_GETFL, 0);
            byte* bytes = stackalloc byte[256];
            new Span<byte>(bytes, 256).Fill((byte)'y');
            while (Libc.Write(filler, bytes, 256) > 0)
            {
            }

            // The reader takes a little: the tty says writable again, with less room than a record.
            Assert.Equal(0, Libc.Fcntl(master, Libc.F_SETFL, O_NONBLOCK)); // the test's own end
            for (int i = 0; i < 400 && !Writable(terminal); i++)
            {
                _ = Libc.Read(master, bytes, 256);
                Thread.Sleep(5);
            }

            Assert.True(Writable(terminal));
            StderrLogger logger = StderrLogger.ForFileDescriptor(terminal, writeTimeout: TimeSpan.FromMilliseconds(300));
            var run = Task.Factory.StartNew(() => logger.Info(new string('x', 4000)), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var clock = Stopwatch.StartNew();
            Assert.True(run.Wait(TimeSpan.FromSeconds(10)), "the log call blocked in write(2) on the terminal");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.Elapsed}");
            Assert.Equal(1, logger.DroppedRecords);
            Assert.Equal(flagsBefore, Libc.Fcntl(terminal, F_GETFL, 0)); // the shared description is untouched
        }
        finally
        {
            _ = Libc.Close(master); // hangs the terminal up: a write still blocked there fails with EIO
            _ = Libc.Close(terminal);
            _ = Libc.Close(filler);
        }

        static bool Writable(int fd)
        {
            Libc.PollFd poll = new() { Fd = fd, Events = Libc.POLLOUT };
            return Libc.Poll(&poll, 1, 0) > 0;
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
        writer.SendTimeout = TimeSpan.FromSeconds(1); // one waiting log call below would take as long
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

        // Before: 5 x 1 s. Now: the stall is remembered, as the stderr sink remembers one.
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(800), $"5 log calls took {clock.Elapsed}");
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
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(950), $"the queue filling up again was not waited for: {clock.Elapsed}");
    }

    /// <summary>posix_openpt(3) and friends: a pseudo-terminal pair, for the terminal case.</summary>
    private static partial class Pty
    {
        [LibraryImport("libc", EntryPoint = "posix_openpt", SetLastError = true)]
        public static partial int OpenMaster(int flags);

        [LibraryImport("libc", EntryPoint = "grantpt", SetLastError = true)]
        public static partial int Grant(int fd);

        [LibraryImport("libc", EntryPoint = "unlockpt", SetLastError = true)]
        public static partial int Unlock(int fd);

        [LibraryImport("libc", EntryPoint = "ptsname_r", SetLastError = true)]
        public static partial int Name(int fd, byte* buffer, nuint length);
    }
}
