using System.Diagnostics;
using System.Net.Sockets;
using SdDaemon.IntegrationTests.Infrastructure;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>
/// SdDaemon.Testing's NotifyReceiver against systemd 262 as PID 1 (spec N-18): a daemon in the
/// container sends the same datagrams to the manager and to a receiver the test bound in the shared
/// directory. What 262 drops, the receiver drops; what 262 takes, the receiver reads the same; and the
/// receiver gets the sender's pidfd (SO_PASSPIDFD), as 262 does.
/// </summary>
[Collection(Pid1Systemd262Collection.Name)]
public sealed class NotifyReceiverVersus262Tests(Systemd262Pid1 manager)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Pid1Fact]
    public void N18_oversize_and_embedded_NUL_are_dropped_by_both_and_the_next_message_read_by_both_with_the_senders_pidfd()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("receiver262");
        string directory = manager.CreateSharedDirectory("sdd-receiver262-");
        string output = Path.Combine(directory, "out");
        using NotifyReceiver receiver = NotifyReceiver.Bind(Path.Combine(directory, "notify"));
        Assert.True(receiver.PassesPidFd, "the kernel refused SO_PASSPIDFD (6.5+)");
        try
        {
            string raw = "raw-both=" + receiver.NotifySocket + ":";
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", $"StandardOutput=append:{output}",
                .. TestDaemon.Command("ready", "status=before", raw + "oversize", raw + "nul", "barrier=10000", $"show={unit}:StatusText",
                    raw + "ok", "barrier=10000", $"show={unit}:StatusText", "wait")]).EnsureSuccess("systemd-run");

            using NotifyMessage oversize = receiver.Receive(Patience) ?? throw new TimeoutException("no first datagram");
            using NotifyMessage nul = receiver.Receive(Patience) ?? throw new TimeoutException("no second datagram");
            using NotifyMessage ok = receiver.Receive(Patience) ?? throw new TimeoutException("no third datagram");
            Assert.Equal("datagram of 4097 bytes is over 4096", oversize.DropReason);
            Assert.Equal("embedded NUL byte", nul.DropReason);
            Assert.Null(ok.DropReason);
            Assert.Equal(["STATUS=after"], ok.Lines);

            // The manager dropped the same two (its status stayed "before") and took the third.
            string[] shown = WaitForLines(output, "show: ", 2);
            Assert.Equal(["show: before", "show: after"], shown);

            // The pidfd is the sender's: its pid in this namespace is the credentials' pid, and in the
            // container's (the last NSpid) the unit's main process.
            string mainPid = manager.Property(unit, "MainPID");
            foreach (NotifyMessage message in new[] { oversize, nul, ok })
            {
                Assert.NotNull(message.SenderPidFd);
                string[] info = File.ReadAllLines($"/proc/self/fdinfo/{message.SenderPidFd!.DangerousGetHandle()}");
                Assert.Contains($"Pid:\t{message.Pid}", info);
                Assert.Equal(mainPid, info.Single(l => l.StartsWith("NSpid:", StringComparison.Ordinal)).Split('\t').Last());
            }
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [Pid1Fact]
    public void N18_a_datagram_whose_sender_pid_the_manager_cannot_name_is_dropped_with_its_warning()
    {
        manager.EnsureRunning();
        string cursor = manager.Journalctl("-n", "0", "--show-cursor").Stdout.Split("-- cursor: ")[1].Trim();
        // From this (the host's) pid namespace into the container's: the kernel gives 262 pid 0.
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified))
        {
            socket.SendTo("STATUS=from outside"u8.ToArray(), new UnixDomainSocketEndPoint($"/proc/{manager.LeaderPid}/root/run/systemd/notify"));
        }

        string journal = "";
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Patience && !journal.Contains("lacking valid credential", StringComparison.Ordinal))
        {
            manager.Journalctl("--sync");
            journal = manager.Journalctl("--after-cursor", cursor, "_PID=1", "-o", "cat").Stdout;
            Thread.Sleep(100);
        }

        Assert.Contains("Got notification datagram lacking valid credential information, ignoring.", journal, StringComparison.Ordinal);
    }

    private static string[] WaitForLines(string path, string prefix, int count)
    {
        var clock = Stopwatch.StartNew();
        string[] lines = [];
        while (clock.Elapsed < Patience)
        {
            lines = File.Exists(path) ? File.ReadAllLines(path).Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToArray() : [];
            if (lines.Length >= count)
            {
                return lines;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"{path}: {(File.Exists(path) ? File.ReadAllText(path) : "(missing)")}");
    }
}
