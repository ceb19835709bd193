using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Moq;
using SdDaemon.Hosting;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>The host lifetime's protocol, checked with SdDaemon.Testing (the manager here is 252,
/// older than Type=notify-reload, so the reload protocol is proven against the receiver).</summary>
public sealed class SdDaemonLifetimeTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly NotifyReceiver _receiver = NotifyReceiver.Bind();
    private readonly SdDaemonNotifier _notifier;
    private readonly CancellationTokenSource _started = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Mock<IHostApplicationLifetime> _application = new();

    public SdDaemonLifetimeTests()
    {
        _notifier = new SdDaemonNotifier(_receiver.NotifySocket, hideFromChildren: false);
        _application.SetupGet(a => a.ApplicationStarted).Returns(_started.Token);
        _application.SetupGet(a => a.ApplicationStopping).Returns(_stopping.Token);
    }

    public void Dispose()
    {
        _notifier.Dispose();
        _receiver.Dispose();
        _started.Dispose();
        _stopping.Dispose();
    }

    private SdDaemonLifetime Lifetime(IServiceProvider services, SdDaemonHostOptions? options = null)
    {
        IOptions<SdDaemonHostOptions> wrapped = Options.Create(options ?? new SdDaemonHostOptions());
        return new(_application.Object, wrapped, _notifier, new ServiceReloader(_notifier, services, wrapped, NullLogger<ServiceReloader>.Instance), NullLogger<SdDaemonLifetime>.Instance);
    }

    [Fact]
    public async Task READY_with_status_once_started_and_STOPPING_once_stopping()
    {
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().BuildServiceProvider(), new SdDaemonHostOptions { ReadyStatus = "serving" });
        await lifetime.WaitForStartAsync(CancellationToken.None);
        Assert.Null(_receiver.Receive(TimeSpan.FromMilliseconds(100)));
        _started.Cancel();
        Assert.Equal("READY=1\nSTATUS=serving", _receiver.Receive(Wait)!.Text);
        _stopping.Cancel();
        Assert.Equal("STOPPING=1", _receiver.Receive(Wait)!.Text);
    }

    [Fact]
    public async Task Reload_is_RELOADING_with_MONOTONIC_USEC_then_configuration_and_handlers_then_READY()
    {
        var order = new List<string>();
        var source = new Mock<IConfigurationProvider>();
        source.Setup(p => p.Load()).Callback(() => order.Add("configuration"));
        IConfigurationRoot configuration = new ConfigurationBuilder().Add(new FixedSource(source.Object)).Build();
        order.Clear(); // Build() loaded it once
        var handler = new Mock<IReloadHandler>();
        handler.Setup(h => h.ReloadAsync(It.IsAny<CancellationToken>())).Callback(() =>
        {
            order.Add("handler");
            // RELOADING=1 is already with the manager while the handler runs.
            order.Add(_receiver.Receive(Wait)!.Text.Split('\n')[0]);
        }).Returns(Task.CompletedTask);
        ServiceProvider services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddSingleton(handler.Object)
            .BuildServiceProvider();
        using SdDaemonLifetime lifetime = Lifetime(services);

        ulong before = (ulong)System.Diagnostics.Stopwatch.GetTimestamp() / 1000;
        await lifetime.ReloadAsync(CancellationToken.None);
        ulong after = (ulong)System.Diagnostics.Stopwatch.GetTimestamp() / 1000;

        Assert.Equal(["configuration", "handler", "RELOADING=1"], order);
        NotifyMessage reloading = _receiver.History[0];
        Assert.Equal(2, reloading.Lines.Count);
        Assert.Equal("RELOADING=1", reloading.Lines[0]);
        Assert.InRange(ulong.Parse(reloading["MONOTONIC_USEC"]!, CultureInfo.InvariantCulture), before, after);
        Assert.Equal("READY=1\nSTATUS=running", _receiver.Receive(Wait)!.Text);
    }

    [Fact]
    public async Task A_failing_reload_handler_still_ends_the_reload_with_READY_and_says_why()
    {
        var handler = new Mock<IReloadHandler>();
        handler.Setup(h => h.ReloadAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new InvalidOperationException("bad\nconfig"));
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().AddSingleton(handler.Object).BuildServiceProvider());
        await lifetime.ReloadAsync(CancellationToken.None);
        Assert.StartsWith("RELOADING=1\nMONOTONIC_USEC=", _receiver.Receive(Wait)!.Text, StringComparison.Ordinal);
        Assert.Equal("READY=1\nSTATUS=reload failed: bad config", _receiver.Receive(Wait)!.Text);
    }

    [Fact]
    public async Task A_reload_failure_whose_message_no_STATUS_may_carry_still_ends_with_READY()
    {
        // NUL, a lone surrogate and a trailing backslash: NotifyState.Status would throw on each.
        var handler = new Mock<IReloadHandler>();
        handler.Setup(h => h.ReloadAsync(It.IsAny<CancellationToken>())).ThrowsAsync(new InvalidOperationException("a\0b\ud800c\\"));
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().AddSingleton(handler.Object).BuildServiceProvider());
        await lifetime.ReloadAsync(CancellationToken.None);
        Assert.StartsWith("RELOADING=1\nMONOTONIC_USEC=", _receiver.Receive(Wait)!.Text, StringComparison.Ordinal);
        NotifyMessage ready = _receiver.Receive(Wait)!;
        Assert.Equal("READY=1\nSTATUS=reload failed: a b\ufffdc\\\\", ready.Text);
        Assert.Equal("reload failed: a b\ufffdc\\", ready.Get("STATUS")); // the manager's reading: one backslash
    }

    [Fact]
    public void Outside_a_manager_the_notifier_is_harmless()
    {
        using var notifier = new SdDaemonNotifier(null, hideFromChildren: true);
        Assert.False(notifier.IsUnderManager);
        Assert.Equal(NotifyOutcome.NotListening, notifier.SetStatus("x").Outcome);
    }

    [Fact]
    public async Task A_slow_start_extends_the_managers_timeout_until_READY_and_no_longer()
    {
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().BuildServiceProvider(),
            new SdDaemonHostOptions { TimeoutExtensionInterval = TimeSpan.FromMilliseconds(100), ReadyStatus = null });
        await lifetime.WaitForStartAsync(CancellationToken.None);
        // Each extension asks for twice the interval from now.
        Assert.Equal("EXTEND_TIMEOUT_USEC=200000", _receiver.Receive(Wait)!.Text);
        Assert.Equal("EXTEND_TIMEOUT_USEC=200000", _receiver.Receive(Wait)!.Text);
        _started.Cancel();
        NotifyMessage ready;
        while ((ready = _receiver.Receive(Wait)!).Text != "READY=1")
        {
            Assert.Equal("EXTEND_TIMEOUT_USEC=200000", ready.Text); // one may have been on its way
        }

        Assert.Null(_receiver.Receive(TimeSpan.FromMilliseconds(350)));
    }

    [Fact]
    public async Task Extensions_stop_at_MaxTimeoutExtension_so_a_hung_start_is_still_ended()
    {
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().BuildServiceProvider(),
            new SdDaemonHostOptions { TimeoutExtensionInterval = TimeSpan.FromMilliseconds(100), MaxTimeoutExtension = TimeSpan.FromMilliseconds(1000) });
        await lifetime.WaitForStartAsync(CancellationToken.None);
        var received = new List<string>();
        while (_receiver.Receive(TimeSpan.FromMilliseconds(1500)) is { } m)
        {
            received.Add(m.Text);
        }

        // 100 ms apart for 1 s: at most ten (each waits 100 ms first), fewer when the extending thread
        // is slow to run (with a 450 ms bound and a 500 ms pause, a loaded machine could leave one or none);
        // then none for 1.5 s although the host never became ready.
        Assert.InRange(received.Count, 2, 10);
        Assert.All(received, text => Assert.Equal("EXTEND_TIMEOUT_USEC=200000", text));
    }

    [Fact]
    public async Task Lame_duck_SIGTERM_says_STOPPING_and_draining_at_once_and_stops_the_host_after_the_delay()
    {
        var stopped = new TaskCompletionSource<DateTime>();
        _application.Setup(a => a.StopApplication()).Callback(() => stopped.TrySetResult(DateTime.UtcNow));
        using SdDaemonLifetime lifetime = Lifetime(new ServiceCollection().BuildServiceProvider(),
            new SdDaemonHostOptions { DrainDelay = TimeSpan.FromSeconds(1) }); // long enough to see the host still running
        await lifetime.WaitForStartAsync(CancellationToken.None);
        var context = new System.Runtime.InteropServices.PosixSignalContext(System.Runtime.InteropServices.PosixSignal.SIGTERM);
        DateTime signalled = DateTime.UtcNow;
        lifetime.OnTerminate(context);
        Assert.True(context.Cancel); // the runtime must not end the process: the host stops it
        Assert.Equal("STOPPING=1\nSTATUS=draining", _receiver.Receive(Wait)!.Text);
        Assert.False(stopped.Task.IsCompleted);
        DateTime stopAt = await stopped.Task.WaitAsync(Wait);
        Assert.True(stopAt - signalled >= TimeSpan.FromMilliseconds(990), (stopAt - signalled).ToString());
        _stopping.Cancel();
        Assert.Null(_receiver.Receive(TimeSpan.FromMilliseconds(100))); // STOPPING=1 is not sent twice
    }

    [Fact]
    public void NOTIFY_SOCKET_is_hidden_from_children_but_the_host_keeps_notifying()
    {
        string? saved = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        try
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", _receiver.NotifySocket);
            using var notifier = new SdDaemonNotifier(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"), hideFromChildren: true);
            Assert.Null(Environment.GetEnvironmentVariable("NOTIFY_SOCKET"));
            Assert.True(notifier.IsUnderManager);
            Assert.True(notifier.SetStatus("still reaching the manager").IsSent);
            Assert.Equal("STATUS=still reaching the manager", _receiver.Receive(Wait)!.Text);
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", saved);
        }
    }

    private sealed class FixedSource(IConfigurationProvider provider) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => provider;
    }
}
