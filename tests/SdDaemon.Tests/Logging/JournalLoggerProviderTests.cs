using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>The Microsoft.Extensions.Logging provider in its stderr forms.</summary>
public sealed class JournalLoggerProviderTests
{
    private static (ILoggerFactory Factory, RecordingStream Sink) Make(Action<JournalLoggerOptions>? configure = null)
    {
        var options = new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr };
        configure?.Invoke(options);
        var sink = new RecordingStream();
        var provider = JournalLoggerProvider.Create(options, sink);
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(provider));
        return (factory, sink);
    }

    [Theory]
    [InlineData(LogLevel.Trace, "<7>Cat: m\n")]
    [InlineData(LogLevel.Debug, "<7>Cat: m\n")]
    [InlineData(LogLevel.Information, "<6>Cat: m\n")]
    [InlineData(LogLevel.Warning, "<4>Cat: m\n")]
    [InlineData(LogLevel.Error, "<3>Cat: m\n")]
    [InlineData(LogLevel.Critical, "<2>Cat: m\n")]
    public void Levels_map_to_syslog_priorities(LogLevel level, string expected)
    {
        var (factory, sink) = Make();
        factory.CreateLogger("Cat").Log(level, "m");
        Assert.Equal(expected, sink.Text);
    }

    [Fact]
    public void Notice_alert_and_emerg_have_their_own_entry_points()
    {
        var (factory, sink) = Make();
        ILogger logger = factory.CreateLogger("Cat");
        logger.LogNotice("reloaded {Count} files in {Seconds}s", 3, 1.5);
        logger.LogAlert("disk {Disk} gone", "sda");
        logger.LogEmergency("halt");
        logger.LogSyslog(SyslogPriority.Crit, new EventId(9), null, "crit {{literal}}");
        Assert.Equal("<5>Cat: reloaded 3 files in 1.5s\n<1>Cat: disk sda gone\n<0>Cat: halt\n<2>Cat[9]: crit {literal}\n", sink.Text);
    }

    [Fact]
    public void Other_providers_see_the_nearest_level()
    {
        Assert.Equal(LogLevel.Information, SyslogLoggerExtensions.ToLogLevel(SyslogPriority.Notice));
        Assert.Equal(LogLevel.Critical, SyslogLoggerExtensions.ToLogLevel(SyslogPriority.Alert));
        Assert.Equal(LogLevel.Critical, SyslogLoggerExtensions.ToLogLevel(SyslogPriority.Emerg));
        Assert.Equal(SyslogPriority.Debug, SyslogLoggerExtensions.ToSyslogPriority(LogLevel.Trace));
    }

    [Fact]
    public void Event_id_is_written_when_not_zero()
    {
        var (factory, sink) = Make();
        ILogger logger = factory.CreateLogger("My.Category");
        logger.LogInformation(new EventId(42, "Started"), "up");
        logger.LogInformation(new EventId(0), "zero");
        Assert.Equal("<6>My.Category[42]: up\n<6>My.Category: zero\n", sink.Text);
    }

    [Fact]
    public void Scopes_are_written_only_when_enabled()
    {
        var (factory, sink) = Make(o => o.IncludeScopes = true);
        ILogger logger = factory.CreateLogger("Cat");
        using (logger.BeginScope("outer"))
        using (logger.BeginScope("request {RequestId}", "r-1"))
        {
            logger.LogWarning("inside");
        }

        logger.LogWarning("outside");
        using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "r-2", ["Price"] = 1.5 }))
        {
            logger.LogWarning("pairs");
        }

        Assert.Equal("<4>Cat => outer => request r-1: inside\n<4>Cat: outside\n<4>Cat => RequestId=r-2 Price=1.5: pairs\n", sink.Text);

        var (plainFactory, plainSink) = Make();
        ILogger quiet = plainFactory.CreateLogger("Cat");
        using (quiet.BeginScope("outer"))
        {
            quiet.LogWarning("inside");
        }

        Assert.Equal("<4>Cat: inside\n", plainSink.Text);
    }

    [Fact]
    public void An_exception_with_inner_exceptions_follows_on_prefixed_lines_in_one_write()
    {
        var (factory, sink) = Make();
        Exception error;
        try
        {
            try
            {
                throw new ArgumentException("inner problem");
            }
            catch (ArgumentException inner)
            {
                throw new InvalidOperationException("outer problem", inner);
            }
        }
        catch (InvalidOperationException e)
        {
            error = e;
        }

        factory.CreateLogger("Cat").LogError(error, "failed {Thing}", "x");
        string[] lines = sink.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(sink.Writes);
        Assert.Equal("<3>Cat: failed x", lines[0]);
        Assert.Equal("<3>System.InvalidOperationException: outer problem", lines[1]);
        Assert.Equal("<3> ---> System.ArgumentException: inner problem", lines[2]);
        Assert.All(lines, l => Assert.StartsWith("<3>", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("<3>   at ", StringComparison.Ordinal));
        Assert.Contains("<3>   --- End of inner exception stack trace ---", lines);
        Assert.Equal(error.ToString().Split('\n').Length + 1, lines.Length);
    }

    [Fact]
    public void A_timestamp_is_written_only_when_asked()
    {
        var (factory, sink) = Make(o =>
        {
            o.TimestampFormat = "yyyy'|'";
            o.UseUtcTimestamp = true;
        });
        factory.CreateLogger("Cat").LogInformation("m");
        Assert.Equal($"<6>{DateTime.UtcNow.Year}| Cat: m\n", sink.Text);
    }

    [Fact]
    public void Plain_output_spells_out_the_level_without_a_prefix()
    {
        var (factory, sink) = Make(o => o.Output = JournalOutput.PlainStderr);
        ILogger logger = factory.CreateLogger("Cat");
        logger.LogWarning("two\nlines");
        logger.LogNotice("n");
        Assert.Equal("warning: Cat: two\nlines\nnotice: Cat: n\n", sink.Text);
    }

    [Fact]
    public void Message_templates_of_LogNotice_use_the_invariant_culture()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        CultureInfo.CurrentCulture = comma;
        try
        {
            var (factory, sink) = Make();
            factory.CreateLogger("Cat").LogNotice("{Value} {Missing} {List}", 1.25, null, new[] { 1, 2 });
            Assert.Equal("<5>Cat: 1.25 (null) 1, 2\n", sink.Text);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void AddJournal_registers_one_provider_with_the_options_pattern()
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddJournal(o => o.Output = JournalOutput.PlainStderr).AddJournal(o => o.IncludeScopes = true));
        using ServiceProvider provider = services.BuildServiceProvider();
        var journal = Assert.Single(provider.GetServices<ILoggerProvider>().OfType<JournalLoggerProvider>());
        Assert.Equal(JournalOutput.PlainStderr, journal.Output);
        JournalLoggerOptions options = provider.GetRequiredService<IOptions<JournalLoggerOptions>>().Value;
        Assert.True(options.IncludeScopes);
        Assert.Null(options.TimestampFormat);
    }

    [Fact]
    public void LogLevel_None_writes_nothing()
    {
        var (factory, sink) = Make();
        ILogger logger = factory.CreateLogger("Cat");
        logger.Log(LogLevel.None, "never");
        Assert.Empty(sink.Writes);
    }
}
