using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Moq;
using SdDaemon.Hosting;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.Tests.Credentials;

/// <summary>Credentials as configuration: the key mapping, reloads, and errors that never carry a
/// value into logs (spec C-1, C-4, C-5).</summary>
public sealed class CredentialsConfigurationTests : IDisposable
{
    private const string Secret = "hunter2-never-logged";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sdd-credcfg-");

    public void Dispose() => _dir.Delete(recursive: true);

    private void Write(string name, string content) => File.WriteAllText(Path.Join(_dir.FullName, name), content);

    private IConfigurationRoot Build(string? prefix = null) =>
        new ConfigurationBuilder().AddSystemdCredentials(s =>
        {
            s.Directory = _dir.FullName;
            s.Prefix = prefix;
        }).Build();

    [Fact]
    public void C4_each_credential_is_a_key_with_double_underscore_as_section_and_one_trailing_newline_removed()
    {
        Write("Database__Password", Secret + "\n");
        Write("ApiKey", "k\r\n");
        Write("Motd", "two\nlines\n\n");
        Write("Empty", "");

        IConfigurationRoot configuration = Build();

        Assert.Equal(Secret, configuration["Database:Password"]);
        Assert.Equal(Secret, configuration.GetSection("database")["password"]); // keys are case-insensitive
        Assert.Equal("k", configuration["ApiKey"]);
        Assert.Equal("two\nlines\n", configuration["Motd"]);
        Assert.Equal("", configuration["Empty"]);
        Assert.Equal(["ApiKey", "Database", "Empty", "Motd"], configuration.GetChildren().Select(c => c.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void C4_a_prefix_selects_credentials_and_is_removed_from_the_key()
    {
        Write("webapp.Greeting", "hello");
        Write("webapp.Db__Port", "5432");
        File.WriteAllBytes(Path.Join(_dir.FullName, "tls.key"), [0xff, 0x00, 0xfe]); // binary, not selected

        IConfigurationRoot configuration = Build("webapp.");

        Assert.Equal("hello", configuration["Greeting"]);
        Assert.Equal("5432", configuration["Db:Port"]);
        Assert.Null(configuration["tls.key"]);
        Assert.Equal(2, configuration.AsEnumerable().Count(kv => kv.Value is not null));
    }

    [Fact]
    public void C1_outside_a_manager_the_source_is_empty()
    {
        Assert.Null(Environment.GetEnvironmentVariable(EnvironmentVariables.CredentialsDirectory)); // the test host has none
        IConfigurationRoot configuration = new ConfigurationBuilder().AddSystemdCredentials().Build();
        Assert.Empty(configuration.AsEnumerable());
    }

    [Theory]
    [InlineData("a____b")]
    [InlineData("__lead")]
    [InlineData("trail__")]
    [InlineData("bell\u0007")]
    [InlineData("app.")]
    public void C4_a_name_that_is_no_key_is_an_error_naming_the_file_not_the_value(string name)
    {
        Write(name, Secret);

        CredentialException e = Assert.Throws<CredentialException>(() => Build(name == "app." ? "app." : null));

        Assert.Equal(name, e.CredentialName);
        Assert.Contains($"'{name}' does not name a configuration key", e.Message);
        Assert.DoesNotContain(Secret, e.ToString());
    }

    [Fact]
    public void C5_a_reload_reads_changed_added_and_removed_credentials_and_signals_the_change()
    {
        Write("A", "one");
        Write("B", "gone soon");
        IConfigurationRoot configuration = Build();
        bool changed = false;
        using IDisposable subscription = Microsoft.Extensions.Primitives.ChangeToken.OnChange(configuration.GetReloadToken, () => changed = true);

        Write("A", "two");
        File.Delete(Path.Join(_dir.FullName, "B"));
        Write("C", "new");
        configuration.Reload();

        Assert.True(changed);
        Assert.Equal("two", configuration["A"]);
        Assert.Null(configuration["B"]);
        Assert.Equal("new", configuration["C"]);
    }

    [Fact]
    public void C5_a_failed_reload_keeps_every_previous_value()
    {
        Write("A", "kept");
        IConfigurationRoot configuration = Build();
        Write("A", "changed");
        File.WriteAllBytes(Path.Join(_dir.FullName, "Broken"), [.. Encoding.ASCII.GetBytes(Secret), 0xc3]);

        Assert.Throws<CredentialException>(configuration.Reload);

        Assert.Equal("kept", configuration["A"]);
        Assert.Null(configuration["Broken"]);
    }

    [Fact]
    public async Task C5_a_SIGHUP_reload_that_fails_on_a_credential_reports_it_and_logs_no_value()
    {
        Write("Good", Secret);
        var log = new StringWriter();
        IConfigurationRoot configuration = Build();
        File.WriteAllText(Path.Join(_dir.FullName, "Good"), Secret + "-rotated");
        File.WriteAllBytes(Path.Join(_dir.FullName, "Bad"), [.. Encoding.ASCII.GetBytes(Secret), 0xff]);
        using NotifyReceiver receiver = NotifyReceiver.Bind();
        using var notifier = new SdDaemonNotifier(receiver.NotifySocket, hideFromChildren: false);
        using ILoggerFactory logging = LoggerFactory.Create(b => b.AddProvider(new WriterLoggerProvider(log)).SetMinimumLevel(LogLevel.Trace));
        ServiceProvider services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).BuildServiceProvider();
        var application = new Mock<IHostApplicationLifetime>();
        using var reloader = new ServiceReloader(notifier, services, Options.Create(new SdDaemonHostOptions()), logging.CreateLogger<ServiceReloader>());
        using var lifetime = new SdDaemonLifetime(application.Object, Options.Create(new SdDaemonHostOptions()), notifier, reloader, logging.CreateLogger<SdDaemonLifetime>());

        await lifetime.ReloadAsync(CancellationToken.None);

        Assert.StartsWith("RELOADING=1", receiver.Receive(TimeSpan.FromSeconds(5))!.Text);
        string ready = receiver.Receive(TimeSpan.FromSeconds(5))!.Text;
        Assert.StartsWith("READY=1\nSTATUS=reload failed: the credential 'Bad'", ready);
        Assert.Contains("the credential 'Bad'", log.ToString());
        Assert.DoesNotContain(Secret, log.ToString());
        Assert.DoesNotContain(Secret, ready);
        Assert.Equal(Secret, configuration["Good"]); // the last good values stay
    }

    /// <summary>Everything logged, with exceptions, as text.</summary>
    private sealed class WriterLoggerProvider(StringWriter writer) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new WriterLogger(writer);

        public void Dispose()
        {
        }

        private sealed class WriterLogger(StringWriter writer) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (writer)
                {
                    writer.WriteLine($"{logLevel}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
