using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Options;
using SdDaemon.Hosting;
using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>
/// What AddSdDaemon registers and where the host sends (issue 11 item 7, issue 12 items 4 and 5).
/// These set NOTIFY_SOCKET and WATCHDOG_USEC in the test process (AddSdDaemon reads them), so they
/// run alone.
/// </summary>
/// <remarks>
/// This file imports both Microsoft.Extensions.Hosting.Systemd and SdDaemon.Hosting and names types of
/// both unqualified (<see cref="ISystemdNotifier"/>, <see cref="ISdDaemonNotifier"/>,
/// <see cref="SystemdLifetime"/>, <see cref="ISdDaemonSockets"/>): that it compiles is the test that a
/// user migrating with both namespaces in scope gets no CS0104 ambiguity.
/// </remarks>
[Collection(HostRegistrationTests.Name)]
public sealed class HostRegistrationTests : IDisposable
{
    public const string Name = "process environment: NOTIFY_SOCKET, WATCHDOG_USEC";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly NotifyReceiver _manager = NotifyReceiver.Bind();
    private readonly Dictionary<string, string?> _saved = [];

    public HostRegistrationTests() => SetEnvironment("NOTIFY_SOCKET", _manager.NotifySocket);

    public void Dispose()
    {
        foreach ((string name, string? value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        _manager.Dispose();
    }

    private void SetEnvironment(string name, string? value)
    {
        _saved.TryAdd(name, Environment.GetEnvironmentVariable(name));
        Environment.SetEnvironmentVariable(name, value);
    }

    private static HostApplicationBuilder Builder() => Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());

    /// <summary>What Microsoft.Extensions.Hosting.Systemd's AddSystemd() registers when it finds itself
    /// under systemd (its parent process is named systemd, which the test runner's is not, so calling
    /// it here would register nothing). The real call under a real manager: HostCoexistenceTests.</summary>
    private static void RegisterAsAddSystemdDoesUnderSystemd(IServiceCollection services)
    {
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<IHostLifetime, SystemdLifetime>();
    }

    [Fact]
    public async Task AddSystemd_before_AddSdDaemon_the_host_runs_with_SdDaemons_lifetime()
    {
        HostApplicationBuilder builder = Builder();
        RegisterAsAddSystemdDoesUnderSystemd(builder.Services);
        builder.Services.AddSdDaemon(o => o.WatchMemoryPressure = false);
        using IHost host = builder.Build();
        Assert.IsType<SdDaemonLifetime>(host.Services.GetRequiredService<IHostLifetime>());
        await host.StartAsync();
        Assert.Equal("READY=1\nSTATUS=running", _manager.Receive(Wait)!.Text); // Microsoft's sends no STATUS=
        await host.StopAsync();
    }

    [Fact]
    public async Task AddSystemd_after_AddSdDaemon_fails_the_start_with_a_message_that_says_to_remove_it()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSdDaemon(o => o.WatchMemoryPressure = false);
        RegisterAsAddSystemdDoesUnderSystemd(builder.Services);
        using IHost host = builder.Build();
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Equal(
            "UseSystemd()/AddSystemd() of Microsoft.Extensions.Hosting.Systemd was called after AddSdDaemon()/UseSdDaemon() "
            + "and replaced SdDaemon's host lifetime: under systemd there would be no STATUS= and no EXTEND_TIMEOUT_USEC=, "
            + "and SIGHUP would end the service. Remove the UseSystemd()/AddSystemd() call (AddSdDaemon() does what it did) "
            + "and the Microsoft.Extensions.Hosting.Systemd package reference.",
            e.Message);
        Assert.Null(_manager.Receive(TimeSpan.FromMilliseconds(200))); // never READY=1
    }

    [Fact]
    public async Task Another_lifetime_registered_after_AddSdDaemon_is_named_in_the_start_failure()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSdDaemon(o => o.WatchMemoryPressure = false);
        builder.Services.AddSingleton<IHostLifetime, OtherLifetime>();
        using IHost host = builder.Build();
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.StartsWith($"The host's lifetime is {typeof(OtherLifetime).FullName}, registered after AddSdDaemon()/UseSdDaemon()", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"Remove the registration of {typeof(OtherLifetime).FullName} (services.AddSingleton<IHostLifetime, ...>), or make it before AddSdDaemon().", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_configure_delegate_runs_once_and_the_options_have_what_it_set()
    {
        int calls = 0;
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSdDaemon(o =>
        {
            calls++;
            o.ReadyStatus = "configured";
            o.WatchMemoryPressure = false;
        });
        using IHost host = builder.Build();
        SdDaemonHostOptions options = host.Services.GetRequiredService<IOptions<SdDaemonHostOptions>>().Value;
        Assert.Equal("configured", options.ReadyStatus);
        Assert.False(options.WatchMemoryPressure);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Options_configured_after_AddSdDaemon_still_apply_on_top()
    {
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSdDaemon(o => o.ReadyStatus = "first");
        builder.Services.Configure<SdDaemonHostOptions>(o => o.DrainDelay = TimeSpan.FromSeconds(3));
        using IHost host = builder.Build();
        SdDaemonHostOptions options = host.Services.GetRequiredService<IOptions<SdDaemonHostOptions>>().Value;
        Assert.Equal("first", options.ReadyStatus);
        Assert.Equal(TimeSpan.FromSeconds(3), options.DrainDelay);
    }

    [Fact]
    public void CopyTo_copies_every_property()
    {
        // Every property set to something other than its default, so a property CopyTo forgets fails.
        var source = new SdDaemonHostOptions();
        var defaults = new SdDaemonHostOptions();
        foreach (System.Reflection.PropertyInfo property in typeof(SdDaemonHostOptions).GetProperties())
        {
            object? value = property.GetValue(defaults) switch
            {
                TimeSpan t => t + TimeSpan.FromMilliseconds(1234),
                bool b => !b,
                string or null when property.PropertyType == typeof(string) => "changed",
                _ => throw new InvalidOperationException($"no test value for {property.Name}"),
            };
            property.SetValue(source, value);
        }

        var target = new SdDaemonHostOptions();
        source.CopyTo(target);
        foreach (System.Reflection.PropertyInfo property in typeof(SdDaemonHostOptions).GetProperties())
        {
            Assert.Equal(property.GetValue(source), property.GetValue(target));
        }
    }

    [Fact]
    public async Task NOTIFY_SOCKET_is_read_once_when_AddSdDaemon_is_called()
    {
        // The registration and the notifier used to read it at different times: a change in between
        // sent READY=1 to another socket than the one that decided the lifetime.
        using NotifyReceiver later = NotifyReceiver.Bind();
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSdDaemon(o => o.WatchMemoryPressure = false);
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", later.NotifySocket);
        using IHost host = builder.Build();
        await host.StartAsync();
        Assert.Equal("READY=1\nSTATUS=running", _manager.Receive(Wait)!.Text);
        Assert.Null(later.Receive(TimeSpan.FromMilliseconds(200)));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_replacement_notifier_gets_the_watchdog_pings_and_FDSTORE()
    {
        SetEnvironment("WATCHDOG_USEC", "200000");
        SetEnvironment("WATCHDOG_PID", null);
        SetEnvironment("FDSTORE", null); // unset: a manager that does not say, so a bound listener is offered
        var recorder = new RecordingNotifier();
        HostApplicationBuilder builder = Builder();
        builder.Services.AddSingleton<ISdDaemonNotifier>(recorder);
        builder.Services.AddSdDaemon(o => o.WatchMemoryPressure = false);
        using IHost host = builder.Build();
        await host.StartAsync();
        Assert.True(recorder.Wait("WATCHDOG=1", Wait), string.Join(" | ", recorder.Texts));

        using Socket socket = host.Services.GetRequiredService<ISdDaemonSockets>().GetOrBind("web", () =>
        {
            var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return bound;
        });
        Assert.True(recorder.Wait("FDSTORE=1\nFDNAME=web", Wait), string.Join(" | ", recorder.Texts));
        Assert.Equal(1, recorder.FilesSentWith("FDSTORE=1\nFDNAME=web"));
        await host.StopAsync();

        // Nothing reached NOTIFY_SOCKET itself: everything went through the replacement.
        Assert.Null(_manager.Receive(TimeSpan.FromMilliseconds(100)));
    }

    [Fact]
    public void Under_a_manager_with_stderr_not_the_journal_the_console_becomes_prefixed_lines()
    {
        // INVOCATION_ID without a matching JOURNAL_STREAM: StandardError=file:, a pipe, syslog. The
        // console provider used to stay, with its two-line "warn: Category[0]\n      message".
        (int exitCode, string output) = TestDaemonChild.Run(
            new Dictionary<string, string?> { ["INVOCATION_ID"] = "0123456789abcdef0123456789abcdef", ["JOURNAL_STREAM"] = null },
            "host=stop");
        Assert.True(exitCode == 0, output);
        Assert.Contains("<4>TestDaemon.Host: first line\n<4>second line\n", output, StringComparison.Ordinal);
        Assert.DoesNotContain("warn:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("info:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Outside_a_manager_the_console_provider_stays()
    {
        (int exitCode, string output) = TestDaemonChild.Run(
            new Dictionary<string, string?> { ["INVOCATION_ID"] = null, ["JOURNAL_STREAM"] = null },
            "host=stop");
        Assert.True(exitCode == 0, output);
        Assert.Contains("warn: TestDaemon.Host[0]\n      first line\n      second line\n", output, StringComparison.Ordinal);
    }

    private sealed class OtherLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>A notifier of the application's own: records what the host sends through it.</summary>
    private sealed class RecordingNotifier : ISdDaemonNotifier
    {
        private readonly ConcurrentQueue<(string Text, int Files)> _sent = new();

        public bool IsUnderManager => true;

        public IEnumerable<string> Texts => _sent.Select(s => s.Text);

        public NotifyResult Notify(Notification notification)
        {
            _sent.Enqueue((notification.Text, notification.Files.Count));
            return NotifyResult.Sent;
        }

        public NotifyResult SetStatus(string text) => Notify(Notification.Status(text));

        public NotifyResult ExtendTimeout(TimeSpan extension) => Notify(new Notification(NotifyState.ExtendTimeout(extension)));

        public bool Wait(string text, TimeSpan timeout) => SpinWait.SpinUntil(() => Texts.Contains(text), timeout);

        public int FilesSentWith(string text) => _sent.First(s => s.Text == text).Files;
    }
}

[CollectionDefinition(HostRegistrationTests.Name, DisableParallelization = true)]
public sealed class HostRegistrationCollection;
