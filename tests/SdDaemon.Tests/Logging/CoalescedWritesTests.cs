using System.Diagnostics;
using System.Text;
using SdDaemon.Interop;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>Spec J-7: records that wait for the stderr sink go out together, each whole, in queue
/// order, at most PIPE_BUF per write(2); a caller still returns only when its record was written or
/// dropped, within its timeout. A datagram socketpair shows every write(2) as one datagram.</summary>
[Collection(nameof(StallAndOtherWritersTests))]
public sealed unsafe class CoalescedWritesTests
{
    private const int PipeBuf = 4096;

    private static (int Ours, int Peer) MakeDatagramPair()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.SocketPair(1 /* AF_UNIX */, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0, fds));
        return (fds[0], fds[1]);
    }

    /// <summary>The next datagram on <paramref name="fd"/>, or null when none comes within 5 s.</summary>
    private static byte[]? ReceiveDatagram(int fd)
    {
        byte[] buffer = new byte[65536];
        fixed (byte* b = buffer)
        {
            Libc.PollFd poll = new() { Fd = fd, Events = Libc.POLLIN };
            if (Libc.Poll(&poll, 1, 5000) <= 0)
            {
                return null;
            }

            nint n = Libc.Recv(fd, b, (nuint)buffer.Length, 0);
            return n < 0 ? null : buffer.AsSpan(0, (int)n).ToArray();
        }
    }

    /// <summary>Sends one-byte datagrams until the peer's queue is full; how many.</summary>
    private static int FillDatagrams(int fd)
    {
        byte f = (byte)'f';
        int count = 0;
        while (Libc.Send(fd, &f, 1, Libc.MSG_DONTWAIT) == 1)
        {
            count++;
        }

        Assert.Equal(Errno.EAGAIN, Libc.LastErrno);
        return count;
    }

    private static Thread Start(Action action)
    {
        var thread = new Thread(() => action()) { IsBackground = true };
        thread.Start();
        return thread;
    }

    /// <summary>True once <paramref name="thread"/> blocks in a wait (here: for the sink's gate,
    /// after its record was queued).</summary>
    private static bool IsWaiting(Thread thread) => (thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0;

    [Fact]
    public void J7_records_queued_behind_a_stalled_write_go_out_together_in_whole_pieces_of_at_most_PIPE_BUF()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var (ours, peer) = MakeDatagramPair();
        var threads = new List<Thread>();
        try
        {
            StderrLogger logger = StderrLogger.ForFileDescriptor(ours, writeTimeout: TimeSpan.FromSeconds(20));
            int fillers = FillDatagrams(ours);

            // a and b race for the sink: the winner waits for room (in poll), the other queues.
            threads.Add(Start(() => logger.Info("a")));
            threads.Add(Start(() => logger.Info("b")));
            Assert.True(SpinWait.SpinUntil(() => IsWaiting(threads[0]) || IsWaiting(threads[1]), TimeSpan.FromSeconds(10)), "neither a nor b queued");
            string first = IsWaiting(threads[0]) ? "b" : "a";
            string queued = first == "a" ? "b" : "a";

            // Then three more, one at a time so that the queue order is known: 2000, 2000 and 104 bytes.
            string c = new('c', 1996);
            string d = new('d', 1996);
            string e = new('e', 100);
            foreach (string message in new[] { c, d, e })
            {
                Thread thread = Start(() => logger.Info(message));
                threads.Add(thread);
                Assert.True(SpinWait.SpinUntil(() => IsWaiting(thread), TimeSpan.FromSeconds(10)), "a caller did not queue");
            }

            var datagrams = new List<string>();
            for (int i = 0; i < fillers + 3; i++)
            {
                byte[]? datagram = ReceiveDatagram(peer);
                Assert.True(datagram is not null, $"after {fillers} fillers: {string.Join("|", datagrams.Skip(fillers - 2).Select(x => x.Length > 20 ? x[..20] + "..." + x.Length : x))}; dropped {logger.DroppedRecords}; alive {string.Join(",", threads.Select(t => t.IsAlive))}");
                datagrams.Add(Encoding.ASCII.GetString(datagram));
            }

            foreach (Thread thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(10)), "a log call did not return");
            }

            Assert.All(datagrams.Take(fillers), f => Assert.Equal("f", f));
            Assert.Equal(
                [$"<6>{first}\n", $"<6>{queued}\n<6>{c}\n<6>{d}\n", $"<6>{e}\n"],
                datagrams.Skip(fillers));
            Assert.Equal(4005, datagrams[fillers + 1].Length); // with the fourth record, 4109 bytes: over PIPE_BUF
            Assert.Null(ReceiveDatagramNow(peer));
            Assert.Equal(0, logger.DroppedRecords);
        }
        finally
        {
            _ = Libc.Close(ours);
            _ = Libc.Close(peer);
        }
    }

    [Fact]
    public void J7_many_threads_lose_nothing_and_keep_each_threads_order_in_whole_records()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int Threads = 4;
        const int PerThread = 3000;
        var (ours, peer) = MakeDatagramPair();
        try
        {
            StderrLogger logger = StderrLogger.ForFileDescriptor(ours, writeTimeout: TimeSpan.FromSeconds(20));
            var datagrams = new List<byte[]>();
            Thread reader = Start(() =>
            {
                int records = 0;
                while (records < Threads * PerThread && ReceiveDatagram(peer) is { } datagram)
                {
                    datagrams.Add(datagram);
                    records += datagram.AsSpan().Count((byte)'\n');
                }
            });

            var writers = new List<Thread>();
            for (int t = 0; t < Threads; t++)
            {
                int id = t;
                writers.Add(Start(() =>
                {
                    for (int i = 0; i < PerThread; i++)
                    {
                        logger.Info($"t{id} {i:D5} {new string('p', (i * 37) % 300)}");
                    }
                }));
            }

            foreach (Thread writer in writers)
            {
                Assert.True(writer.Join(TimeSpan.FromSeconds(60)), "a writer did not finish");
            }

            Assert.True(reader.Join(TimeSpan.FromSeconds(30)), "records are missing");
            int[] next = new int[Threads];
            foreach (byte[] datagram in datagrams)
            {
                Assert.InRange(datagram.Length, 1, PipeBuf);
                string text = Encoding.ASCII.GetString(datagram);
                Assert.EndsWith("\n", text, StringComparison.Ordinal);
                string[] records = text[..^1].Split('\n');
                foreach (string record in records)
                {
                    string[] parts = record.Split(' ');
                    Assert.StartsWith("<6>t", parts[0], StringComparison.Ordinal);
                    int id = parts[0][4] - '0';
                    int sequence = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Equal(next[id], sequence);
                    Assert.Equal($"<6>t{id} {sequence:D5} {new string('p', (sequence * 37) % 300)}", record);
                    next[id]++;
                }
            }

            Assert.All(next, n => Assert.Equal(PerThread, n));
            Assert.Equal(0, logger.DroppedRecords);
            Assert.Null(ReceiveDatagramNow(peer));
        }
        finally
        {
            _ = Libc.Close(ours);
            _ = Libc.Close(peer);
        }
    }

    [Fact]
    public void J7_callers_queued_behind_a_full_pipe_return_within_their_timeout_and_their_records_are_not_written_later()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        int* fds = stackalloc int[2];
        Assert.Equal(0, Libc.Pipe2(fds, Libc.O_CLOEXEC));
        int readFd = fds[0];
        int writeFd = fds[1];
        try
        {
            // Fill the pipe exactly, in whole pages, through a non-blocking description of its own.
            byte[] path = Encoding.ASCII.GetBytes($"/proc/self/fd/{writeFd}\0");
            int filler;
            fixed (byte* p = path)
            {
                filler = Libc.Open(p, Libc.O_WRONLY | Libc.O_NONBLOCK | Libc.O_CLOEXEC, 0);
            }

            Assert.True(filler >= 0);
            int filled = 0;
            byte[] page = new byte[PipeBuf];
            page.AsSpan().Fill((byte)'o');
            fixed (byte* pg = page)
            {
                while (Libc.Write(filler, pg, (nuint)page.Length) == page.Length)
                {
                    filled += page.Length;
                }
            }

            _ = Libc.Close(filler);
            TimeSpan timeout = TimeSpan.FromMilliseconds(300);
            StderrLogger logger = StderrLogger.ForFileDescriptor(writeFd, writeTimeout: timeout);

            var took = new TimeSpan[3];
            var threads = new List<Thread>();
            for (int i = 0; i < 3; i++)
            {
                int index = i;
                string message = ((char)('a' + i)).ToString();
                threads.Add(Start(() =>
                {
                    var clock = Stopwatch.StartNew();
                    logger.Info(message);
                    took[index] = clock.Elapsed;
                }));
            }

            foreach (Thread thread in threads)
            {
                Assert.True(thread.Join(TimeSpan.FromSeconds(10)), "a log call blocked");
            }

            Assert.All(took, t => Assert.True(t < timeout + TimeSpan.FromSeconds(2), $"took {t}"));
            Assert.Equal(3, logger.DroppedRecords);

            // The reader catches up: what it finds is the filler, then only the next record.
            string text = ReadAll(readFd, filled + 64);
            Assert.Equal(new string('o', filled), text);
            logger.Warning("after");
            Assert.Equal("<4>after\n", ReadAll(readFd, 64));
            Assert.Equal(3, logger.DroppedRecords);
        }
        finally
        {
            _ = Libc.Close(readFd);
            _ = Libc.Close(writeFd);
        }
    }

    private static byte[]? ReceiveDatagramNow(int fd)
    {
        byte[] buffer = new byte[65536];
        fixed (byte* b = buffer)
        {
            nint n = Libc.Recv(fd, b, (nuint)buffer.Length, Libc.MSG_DONTWAIT);
            return n < 0 ? null : buffer.AsSpan(0, (int)n).ToArray();
        }
    }

    /// <summary>Everything readable now (up to <paramref name="max"/> bytes, waiting at most 1 s for the first).</summary>
    private static string ReadAll(int fd, int max)
    {
        var all = new StringBuilder();
        byte[] buffer = new byte[max];
        fixed (byte* b = buffer)
        {
            int timeout = 1000;
            while (true)
            {
                Libc.PollFd poll = new() { Fd = fd, Events = Libc.POLLIN };
                if (Libc.Poll(&poll, 1, timeout) <= 0)
                {
                    return all.ToString();
                }

                nint n = Libc.Read(fd, b, (nuint)buffer.Length);
                if (n <= 0)
                {
                    return all.ToString();
                }

                all.Append(Encoding.ASCII.GetString(buffer, 0, (int)n));
                timeout = 0;
            }
        }
    }
}
