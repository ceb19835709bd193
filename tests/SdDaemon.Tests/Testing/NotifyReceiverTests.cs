using System.Net.Sockets;
using System.Text;
using SdDaemon.Interop;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.Tests.Testing;

/// <summary>The receiver reads datagrams the way systemd's manager does (spec N-6..N-8).</summary>
public sealed class NotifyReceiverTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly NotifyReceiver _receiver = NotifyReceiver.Bind();
    private readonly Socket _raw = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public void Dispose()
    {
        _raw.Dispose();
        _receiver.Dispose();
    }

    private NotifyMessage SendRaw(byte[] bytes)
    {
        _raw.SendTo(bytes, new UnixDomainSocketEndPoint(_receiver.NotifySocket));
        return _receiver.Receive(Wait)!;
    }

    private NotifyMessage SendRaw(string text) => SendRaw(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void N7_lines_split_on_LF_and_CR_and_empty_lines_are_skipped()
    {
        using NotifyMessage m = SendRaw("READY=1\r\nSTATUS=a\rX_B=2\n\n");
        Assert.Equal(["READY=1", "STATUS=a", "X_B=2"], m.Lines);
        Assert.Null(m.DropReason);
    }

    [Fact]
    public void N7_a_backslash_escapes_the_next_byte_which_is_taken_literally()
    {
        using NotifyMessage m = SendRaw("STATUS=C:\\\nREADY=1\nX_A=a\\\\b\nX_B=\\q");
        Assert.Equal(["STATUS=C:\nREADY=1", "X_A=a\\b", "X_B=q"], m.Lines);
        Assert.Null(m.Get("READY"));
    }

    [Fact]
    public void N14_BARRIER_1_with_other_assignments_is_dropped_and_its_fd_closed()
    {
        using NotifyMessage m = SendRaw("BARRIER=1\nREADY=1");
        Assert.Equal("BARRIER=1 with other assignments", m.DropReason);
        Assert.Empty(m.Lines);
    }

    [Fact]
    public void N7_a_trailing_lone_backslash_drops_the_whole_message()
    {
        using NotifyMessage m = SendRaw("READY=1\nSTATUS=x\\");
        Assert.Equal("trailing lone backslash", m.DropReason);
        Assert.Empty(m.Lines);
    }

    [Fact]
    public void N6_a_NUL_inside_drops_the_message_but_one_at_the_very_end_is_tolerated()
    {
        using NotifyMessage inside = SendRaw("READY=1\0STATUS=x");
        Assert.Equal("embedded NUL byte", inside.DropReason);
        using NotifyMessage atEnd = SendRaw("READY=1\0");
        Assert.Null(atEnd.DropReason);
        Assert.Equal(["READY=1"], atEnd.Lines);
    }

    [Fact]
    public void N6_4096_bytes_are_read_and_4097_dropped()
    {
        using NotifyMessage fits = SendRaw("STATUS=" + new string('x', 4096 - 7));
        Assert.Null(fits.DropReason);
        using NotifyMessage over = SendRaw("STATUS=" + new string('x', 4097 - 7));
        Assert.Contains("over 4096", over.DropReason, StringComparison.Ordinal);
    }

    [Fact]
    public void N8_the_first_occurrence_of_a_key_wins_and_READY_must_match_exactly()
    {
        using NotifyMessage m = SendRaw("STATUS=first\nSTATUS=second\nREADY=1 ");
        Assert.Equal("first", m["STATUS"]);
        Assert.False(m.Contains("READY=1"));
    }

    [Fact]
    public void WaitFor_skips_other_messages_and_times_out_with_what_it_saw()
    {
        _raw.SendTo("STATUS=starting"u8.ToArray(), new UnixDomainSocketEndPoint(_receiver.NotifySocket));
        _raw.SendTo("READY=1"u8.ToArray(), new UnixDomainSocketEndPoint(_receiver.NotifySocket));
        Assert.Equal("READY=1", _receiver.WaitFor("READY", "1", Wait).Text);
        Assert.Equal(2, _receiver.History.Count);
        var e = Assert.Throws<TimeoutException>(() => _receiver.WaitFor("STOPPING", "1", TimeSpan.FromMilliseconds(100)));
        Assert.Contains("STATUS=starting", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void By_default_a_message_holds_no_pidfd_so_that_History_holds_no_descriptor_per_message()
    {
        // With SO_PASSPIDFD always on, 100,000 messages kept in History ran the test host out of descriptors.
        Assert.False(_receiver.PassesPidFd);
        Assert.Null(SendRaw("READY=1").SenderPidFd);
    }

    [Fact]
    public void N18_every_message_comes_with_the_senders_pidfd_on_this_kernel_when_asked()
    {
        using NotifyReceiver receiver = NotifyReceiver.Bind(passPidFd: true);
        Assert.True(receiver.PassesPidFd);
        _raw.SendTo("READY=1"u8.ToArray(), new UnixDomainSocketEndPoint(receiver.NotifySocket));
        NotifyMessage m = receiver.Receive(Wait)!;
        Assert.NotNull(m.SenderPidFd);
        string[] info = File.ReadAllLines($"/proc/self/fdinfo/{m.SenderPidFd!.DangerousGetHandle()}");
        Assert.Contains($"Pid:\t{Environment.ProcessId}", info);
        Assert.Equal(Environment.ProcessId, m.Pid);
        m.Dispose();
        Assert.True(m.SenderPidFd.IsClosed);
    }

    [Fact]
    public void N18_a_datagram_without_a_valid_sender_pid_is_dropped_before_its_text_is_read()
    {
        // Pid 0 is what a receiver gets from a sender its pid namespace cannot name (systemd 262:
        // "lacking valid credential information"); no credentials at all read as pid 0 too.
        Assert.Null(NotifyDatagramReader.Lines("READY=1"u8, new ReceivedDatagram(7, 0, 0, 0, 0), out string? reason));
        Assert.Equal("no valid credentials (SCM_CREDENTIALS missing or pid 0)", reason);
        Assert.Equal(["READY=1"], NotifyDatagramReader.Lines("READY=1"u8, new ReceivedDatagram(7, 42, 0, 0, 0), out reason));
        Assert.Null(reason);
    }
}
