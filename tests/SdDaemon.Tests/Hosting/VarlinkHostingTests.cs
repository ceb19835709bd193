using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SdDaemon.Hosting;
using SdDaemon.Hosting.Varlink;
using SdDaemon.Testing;
using SdDaemon.Tests.Varlink;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>io.systemd.service served by the host, over a real socket, with the notify side checked by
/// SdDaemon.Testing's receiver (the PID 1 tests check it against systemd 262 and varlinkctl).</summary>
public sealed class VarlinkHostingTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly string _directory = Directory.CreateTempSubdirectory("sdd-varlink-host-").FullName;
    private readonly NotifyReceiver _receiver = NotifyReceiver.Bind();
    private readonly List<string> _reloads = [];
    private readonly CapturingProvider _captured = new();
    private IHost _host = null!;
    private string _path = "";

    public async Task InitializeAsync()
    {
        _path = Path.Combine(_directory, "io.systemd.service");
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Noisy", LogLevel.Error);
        builder.Logging.AddProvider(_captured);
        builder.Services.AddSingleton<ISdDaemonNotifier>(new SdDaemonNotifier(_receiver.NotifySocket, hideFromChildren: false));
        builder.Services.AddSingleton<IReloadHandler>(new Reload(_reloads));
        builder.Services.AddSdDaemon();
        builder.Services.AddSdDaemonVarlink(options => options.SocketPath = _path);
        _host = builder.Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        _receiver.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class Reload(List<string> reloads) : IReloadHandler
    {
        public Task ReloadAsync(CancellationToken cancellationToken)
        {
            lock (reloads)
            {
                reloads.Add("reloaded");
            }

            return Task.CompletedTask;
        }
    }

    private VarlinkTestClient Connect() => new(_path);

    /// <summary>Records what reaches a provider: the filters decide before any provider sees a message.</summary>
    private sealed class CapturingProvider : ILoggerProvider
    {
        public List<string> Messages { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (provider.Messages)
                {
                    provider.Messages.Add($"{category} {logLevel}: {formatter(state, exception)}");
                }
            }
        }
    }

    private string[] Logged(string marker)
    {
        lock (_captured.Messages)
        {
            // The whole message after the level: other hosted services log sentences that may contain the word.
            return [.. _captured.Messages.Where(m => m.EndsWith(": " + marker, StringComparison.Ordinal))];
        }
    }

    [Fact]
    public void V10_Ping_answers_and_the_description_is_systemd_262s()
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"io.systemd.service.Ping\",\"parameters\":{}}"));
        string description = client.Call("{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"io.systemd.service\"}}");
        Assert.Contains("method SetLogLevel(\\n\\t# The maximum log level, using BSD syslog log level integers.\\n\\tlevel: ?int\\n) -> ()", description);
        Assert.Contains("\"interfaces\":[\"io.systemd.service\",\"org.varlink.service\"]", client.Call("{\"method\":\"org.varlink.service.GetInfo\"}"));
    }

    [Fact]
    public void V10_SetLogLevel_changes_every_loggers_minimum_at_once_and_null_restores_the_configuration()
    {
        ILogger app = _host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("App");
        ILogger noisy = _host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Noisy");
        Assert.False(app.IsEnabled(LogLevel.Debug));
        Assert.False(noisy.IsEnabled(LogLevel.Warning));
        app.LogDebug("before");

        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{\"level\":6}}\0", client.Call("{\"method\":\"io.systemd.service.GetLogLevel\"}"));
        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"io.systemd.service.SetLogLevel\",\"parameters\":{\"level\":7}}"));
        Assert.True(app.IsEnabled(LogLevel.Trace));
        Assert.True(noisy.IsEnabled(LogLevel.Debug)); // the category rule gives way too
        app.LogDebug("during");
        noisy.LogDebug("during");
        Assert.Equal("{\"parameters\":{\"level\":7}}\0", client.Call("{\"method\":\"io.systemd.service.GetLogLevel\"}"));

        client.Call("{\"method\":\"io.systemd.service.SetLogLevel\",\"parameters\":{\"level\":3}}");
        Assert.False(app.IsEnabled(LogLevel.Warning));
        Assert.True(app.IsEnabled(LogLevel.Error));

        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"io.systemd.service.SetLogLevel\",\"parameters\":{\"level\":null}}"));
        Assert.True(app.IsEnabled(LogLevel.Information));
        Assert.False(app.IsEnabled(LogLevel.Debug));
        Assert.False(noisy.IsEnabled(LogLevel.Warning));
        app.LogDebug("after");
        Assert.Equal(["App Debug: during", "Noisy Debug: during"], Logged("during").Concat(Logged("before")).Concat(Logged("after")));
    }

    [Theory]
    [InlineData("{\"level\":8}", "level")]
    [InlineData("{\"level\":-1}", "level")]
    [InlineData("{\"level\":\"debug\"}", "level")]
    [InlineData("{\"level\":7,\"extra\":1}", "extra")]
    public void V10_SetLogLevel_refuses_what_is_no_syslog_level(string parameters, string parameter)
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal(
            "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"" + parameter + "\"}}\0",
            client.Call("{\"method\":\"io.systemd.service.SetLogLevel\",\"parameters\":" + parameters + "}"));
    }

    [Theory]
    [InlineData(7, LogLevel.Trace)]
    [InlineData(6, LogLevel.Information)]
    [InlineData(5, LogLevel.Warning)]
    [InlineData(4, LogLevel.Warning)]
    [InlineData(3, LogLevel.Error)]
    [InlineData(2, LogLevel.Critical)]
    [InlineData(1, LogLevel.None)]
    [InlineData(0, LogLevel.None)]
    public void V10_a_syslog_level_lets_through_exactly_the_levels_whose_priority_is_at_most_it(int syslog, LogLevel minimum)
    {
        Assert.Equal(minimum, LogLevelOverride.FromSyslog(syslog));
    }

    [Fact]
    public void V10_Reload_runs_the_SIGHUP_path_RELOADING_with_MONOTONIC_USEC_handlers_READY()
    {
        while (_receiver.Receive(TimeSpan.FromMilliseconds(50)) is not null)
        {
            // READY=1 of the start-up, if the lifetime sent one.
        }

        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"io.systemd.service.Reload\",\"parameters\":{\"allowInteractiveAuthentication\":false}}"));
        Assert.Matches("^RELOADING=1\nMONOTONIC_USEC=[0-9]+$", _receiver.Receive(Wait)!.Text);
        Assert.Equal("READY=1\nSTATUS=running", _receiver.Receive(Wait)!.Text);
        Assert.Equal(["reloaded"], _reloads);
    }

    [Fact]
    public void V10_GetEnvironment_returns_the_process_environment_sorted()
    {
        Environment.SetEnvironmentVariable("SDDAEMON_VARLINK_TEST", "a=b c");
        using VarlinkTestClient client = Connect();
        string reply = client.Call("{\"method\":\"io.systemd.service.GetEnvironment\"}");
        Assert.StartsWith("{\"parameters\":{\"environment\":[", reply);
        Assert.Contains("\"SDDAEMON_VARLINK_TEST=a=b c\"", reply);
    }

    [Fact]
    public async Task V9_a_socket_path_that_cannot_be_bound_is_logged_and_the_host_runs_on()
    {
        string blocker = Path.Combine(_directory, "not-a-socket");
        File.WriteAllText(blocker, "keep");
        var captured = new CapturingProvider();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(captured);
        builder.Services.AddSdDaemonVarlink(options => options.SocketPath = blocker);
        using IHost host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();
        Assert.Equal("keep", File.ReadAllText(blocker));
        lock (captured.Messages)
        {
            Assert.Contains(captured.Messages, m => m.Contains($"Error: Varlink: cannot listen on {blocker}; not serving"));
        }
    }

    [Fact]
    public async Task V9_the_bound_socket_is_removed_at_stop()
    {
        Assert.True(File.Exists(_path) || new FileInfo(_path).Exists || Directory.Exists(Path.GetDirectoryName(_path)));
        using (VarlinkTestClient client = Connect())
        {
            Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"io.systemd.service.Ping\"}"));
        }

        await _host.StopAsync();
        Assert.False(Path.Exists(_path));
    }
}
