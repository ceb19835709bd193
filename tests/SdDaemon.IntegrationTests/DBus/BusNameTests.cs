using System.Diagnostics;
using System.Net.Sockets;
using SdDaemon.DBus;
using SdDaemon.IntegrationTests.Infrastructure;
using Tmds.DBus.Protocol;
using Xunit;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>BusName and DaemonBus against a real dbus-daemon, checked with busctl (DB-1..DB-4).</summary>
public sealed class BusNameTests(SessionBus bus) : IClassFixture<SessionBus>
{
    private static string UniqueName(string prefix = "org.sddaemon.Test") => $"{prefix}.N{Guid.NewGuid():N}";

    private async Task<DBusConnection> ConnectAsync()
    {
        bus.EnsureRunning();
        return await DaemonBus.ConnectAsync(bus.SocketAddress);
    }

    [SessionBusFact]
    public async Task Acquire_makes_the_connection_the_owner_busctl_sees_and_dispose_releases_it()
    {
        using DBusConnection connection = await ConnectAsync();
        string name = UniqueName();
        BusName owned = await BusName.AcquireAsync(connection, name);
        Assert.True(owned.IsOwned);
        Assert.Equal(connection.UniqueName, bus.Owner(name));

        await owned.DisposeAsync();
        Assert.False(owned.IsOwned);
        Assert.Null(bus.Owner(name));
        Assert.False(owned.WhenLost.IsCompleted); // a release is not a loss
    }

    [SessionBusFact]
    public async Task A_second_connection_cannot_take_an_owned_name_even_with_ReplaceExisting_unless_replacement_was_allowed()
    {
        using DBusConnection first = await ConnectAsync();
        using DBusConnection second = await ConnectAsync();
        string name = UniqueName();
        await using BusName owned = await BusName.AcquireAsync(first, name);

        BusNameException plain = await Assert.ThrowsAsync<BusNameException>(() => BusName.AcquireAsync(second, name));
        Assert.Equal(BusNameFailure.Taken, plain.Failure);
        Assert.Contains(name, plain.Message);
        BusNameException replace = await Assert.ThrowsAsync<BusNameException>(() => BusName.AcquireAsync(second, name, BusNameOptions.ReplaceExisting));
        Assert.Equal(BusNameFailure.Taken, replace.Failure);

        Assert.Equal(first.UniqueName, bus.Owner(name));
        Assert.True(owned.IsOwned);
    }

    [SessionBusFact]
    public async Task With_AllowReplacement_a_ReplaceExisting_request_takes_the_name_and_the_first_owner_gets_Lost()
    {
        using DBusConnection first = await ConnectAsync();
        using DBusConnection second = await ConnectAsync();
        string name = UniqueName();
        await using BusName owned = await BusName.AcquireAsync(first, name, BusNameOptions.AllowReplacement);
        var raised = new TaskCompletionSource<BusNameLostEventArgs>();
        owned.Lost += (_, e) => raised.TrySetResult(e);

        await using BusName taker = await BusName.AcquireAsync(second, name, BusNameOptions.ReplaceExisting);

        BusNameLostEventArgs lost = await raised.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(BusNameLossReason.Replaced, lost.Reason);
        Assert.Equal(name, lost.Name);
        Assert.Same(lost, await owned.WhenLost);
        Assert.False(owned.IsOwned);
        Assert.Equal(second.UniqueName, bus.Owner(name));
    }

    [SessionBusFact]
    public async Task Queue_waits_until_the_owner_releases_and_cancelling_leaves_the_queue()
    {
        using DBusConnection first = await ConnectAsync();
        using DBusConnection second = await ConnectAsync();
        using DBusConnection third = await ConnectAsync();
        string name = UniqueName();
        BusName owned = await BusName.AcquireAsync(first, name);

        using var cancel = new CancellationTokenSource();
        Task<BusName> gaveUp = BusName.AcquireAsync(third, name, BusNameOptions.Queue, cancel.Token);
        Task<BusName> waiting = BusName.AcquireAsync(second, name, BusNameOptions.Queue);
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gaveUp);

        await owned.DisposeAsync();
        await using BusName next = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(next.IsOwned);
        Assert.Equal(second.UniqueName, bus.Owner(name)); // the third left the queue before the second's turn
    }

    [SessionBusFact]
    public async Task A_name_the_policy_forbids_gives_AccessDenied_with_the_policy_hint()
    {
        using DBusConnection connection = await ConnectAsync();
        string name = UniqueName(SessionBus.ForbiddenPrefix);
        BusNameException e = await Assert.ThrowsAsync<BusNameException>(() => BusName.AcquireAsync(connection, name));
        Assert.Equal(BusNameFailure.AccessDenied, e.Failure);
        Assert.Equal("org.freedesktop.DBus.Error.AccessDenied", e.ErrorName);
        Assert.Contains("/etc/dbus-1/system.d/", e.Message);
        Assert.Null(bus.Owner(name));
    }

    [SessionBusFact]
    public async Task Invalid_names_are_ArgumentExceptions_before_anything_is_sent()
    {
        using DBusConnection connection = await ConnectAsync();
        foreach (string bad in new[] { "", "nodots", ":1.42", "org..example", "org.1example", "org.example.", "org.ex ample", new string('a', 250) + ".bcdefg" })
        {
            await Assert.ThrowsAsync<ArgumentException>(() => BusName.AcquireAsync(connection, bad));
        }
    }

    [SessionBusFact]
    public async Task When_the_bus_goes_away_the_owner_gets_Lost_Disconnected_promptly()
    {
        using var own = new SessionBus();
        own.EnsureRunning();
        using DBusConnection connection = await DaemonBus.ConnectAsync(own.SocketAddress);
        BusName owned = await BusName.AcquireAsync(connection, UniqueName());

        own.Kill();
        BusNameLostEventArgs lost = await owned.WhenLost.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(BusNameLossReason.Disconnected, lost.Reason);
        var dispose = Stopwatch.StartNew();
        await owned.DisposeAsync(); // nothing to release, and no hang
        Assert.True(dispose.Elapsed < TimeSpan.FromSeconds(2), dispose.Elapsed.ToString());
    }

    [Fact]
    public async Task An_absent_bus_is_a_BusUnavailableException_naming_the_address()
    {
        string address = "unix:path=/nonexistent/sdd/bus";
        BusUnavailableException e = await Assert.ThrowsAsync<BusUnavailableException>(() => DaemonBus.ConnectAsync(address));
        Assert.Equal(address, e.Address);
        Assert.Contains(address, e.Message);
    }

    [Fact]
    public async Task A_socket_that_never_answers_the_authentication_times_out_instead_of_hanging()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sdd-mute-{Guid.NewGuid():N}");
        using var mute = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        mute.Bind(new UnixDomainSocketEndPoint(path));
        mute.Listen(); // accepted by the kernel's backlog, never answered
        try
        {
            var watch = Stopwatch.StartNew();
            BusUnavailableException e = await Assert.ThrowsAsync<BusUnavailableException>(() => DaemonBus.ConnectAsync("unix:path=" + path, TimeSpan.FromMilliseconds(500)));
            Assert.Contains("did not complete connecting within 0.5 s", e.Message);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
