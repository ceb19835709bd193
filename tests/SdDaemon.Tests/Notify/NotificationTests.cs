using System.Text;
using Xunit;

namespace SdDaemon.Tests.Notify;

/// <summary>Composing a message: one datagram, lines joined by \n, validated before anything is sent.</summary>
public sealed class NotificationTests
{
    [Fact]
    public void N6_states_are_joined_by_newline_without_a_trailing_newline_or_NUL()
    {
        var n = new Notification(NotifyState.Ready, NotifyState.Status("serving"), NotifyState.MainPid(77));
        Assert.Equal(Encoding.UTF8.GetBytes("READY=1\nSTATUS=serving\nMAINPID=77"), n.Payload);
        Assert.Equal("READY=1\nSTATUS=serving\nMAINPID=77", n.Text);
    }

    [Fact]
    public void Reloading_carries_MONOTONIC_USEC_as_notify_reload_requires()
    {
        Notification n = Notification.Reloading();
        Assert.Equal(2, n.States.Count);
        Assert.Equal("RELOADING=1", n.States[0].ToString());
        Assert.Equal("MONOTONIC_USEC", n.States[1].Key);
        Assert.Matches("^RELOADING=1\nMONOTONIC_USEC=[0-9]+$", n.Text);
    }

    [Fact]
    public void N8_the_same_key_twice_is_rejected_because_the_manager_reads_only_the_first()
    {
        var e = Assert.Throws<ArgumentException>(() => new Notification(NotifyState.Status("a"), NotifyState.Status("b")));
        Assert.Contains("STATUS= appears twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FDSTOREREMOVE_without_FDNAME_is_rejected()
    {
        Assert.Throws<ArgumentException>(() => new Notification(NotifyState.FdStoreRemove));
        Assert.Equal("FDSTOREREMOVE=1\nFDNAME=web", new Notification(NotifyState.FdStoreRemove, NotifyState.FdName("web")).Text);
    }

    [Fact]
    public void N6_a_message_over_4096_bytes_is_rejected_and_4096_is_accepted()
    {
        string fits = new('x', Notification.MaxMessageBytes - "STATUS=".Length);
        Assert.Equal(4096, new Notification(NotifyState.Status(fits)).Payload.Length);
        var e = Assert.Throws<ArgumentException>(() => new Notification(NotifyState.Status(fits + "x")));
        Assert.Contains("4097 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void N11_more_than_253_files_is_rejected_before_sending()
    {
        var handles = Enumerable.Range(0, 254).Select(_ => (System.Runtime.InteropServices.SafeHandle)new Microsoft.Win32.SafeHandles.SafeFileHandle(0, false)).ToArray();
        var e = Assert.Throws<ArgumentException>(() => new Notification(NotifyState.FdStore) { Files = handles });
        Assert.Contains("254", e.Message, StringComparison.Ordinal);
        Assert.Equal(253, new Notification(NotifyState.FdStore) { Files = handles[..253] }.Files.Count);
    }

    [Fact]
    public void Pid_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Notification(NotifyState.Ready) { Pid = 0 });
        Assert.Equal(12, new Notification(NotifyState.Ready) { Pid = 12 }.Pid);
    }

    [Fact]
    public void Empty_messages_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => new Notification());
    }

    [Fact]
    public void The_constant_notifications_reuse_one_encoded_payload()
    {
        Assert.Same(Notification.Watchdog, Notification.Watchdog);
        Assert.Same(Notification.Watchdog.Payload, Notification.Watchdog.Payload);
        Assert.Equal("WATCHDOG=1", Notification.Watchdog.Text);
        Assert.Equal("READY=1", Notification.Ready.Text);
        Assert.Equal("STOPPING=1", Notification.Stopping.Text);
        Assert.Equal("WATCHDOG=trigger", Notification.WatchdogTrigger.Text);
    }
}
