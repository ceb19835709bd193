using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using SdDaemon.Logging;

namespace SdDaemon.Hosting.Varlink;

/// <summary>
/// The log level io.systemd.service.SetLogLevel sets, applied to <see cref="LoggerFilterOptions"/>: after
/// every other configuration (a post-configure step) it makes the minimum level the one asked for and
/// drops the category and provider rules, so that every logger of every provider (the journal, stderr,
/// the console, ...) logs exactly the priorities up to that level. Setting it signals a change to the
/// options monitor, and LoggerFactory re-evaluates every logger's filter at once; clearing it (a null
/// level) restores what configuration says, rules included (V-10).
/// </summary>
internal sealed class LogLevelOverride : IPostConfigureOptions<LoggerFilterOptions>, IOptionsChangeTokenSource<LoggerFilterOptions>, IDisposable
{
    private readonly object _gate = new();
    private CancellationTokenSource _changed = new();
    private LogLevel? _minimum;

    public string? Name => Options.DefaultName;

    /// <summary>The minimum level set, or null when configuration decides.</summary>
    public LogLevel? Minimum
    {
        get
        {
            lock (_gate)
            {
                return _minimum;
            }
        }
    }

    /// <summary>
    /// The lowest .NET level whose messages have a syslog priority at or below <paramref name="maximumPriority"/>
    /// (the mapping the journal provider writes with: Trace and Debug 7, Information 6, Warning 4,
    /// Error 3, Critical 2); <see cref="LogLevel.None"/> for 0 and 1, which no .NET level reaches.
    /// </summary>
    public static LogLevel FromSyslog(int maximumPriority)
    {
        for (LogLevel level = LogLevel.Trace; level <= LogLevel.Critical; level++)
        {
            if ((int)SyslogLoggerExtensions.ToSyslogPriority(level) <= maximumPriority)
            {
                return level;
            }
        }

        return LogLevel.None;
    }

    /// <summary>The syslog priority <paramref name="minimum"/> lets through at most (7 for Trace and Debug).</summary>
    public static int ToSyslog(LogLevel minimum) =>
        minimum >= LogLevel.None ? 0 : (int)SyslogLoggerExtensions.ToSyslogPriority(minimum);

    /// <summary>Sets (or with null clears) the override and tells the options monitor.</summary>
    public void Set(LogLevel? minimum)
    {
        CancellationTokenSource changed;
        lock (_gate)
        {
            _minimum = minimum;
            changed = _changed;
            _changed = new CancellationTokenSource();
        }

        // Not disposed: a token taken before this change may still be registered with afterwards.
        changed.Cancel();
    }

    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_changed.Token);
        }
    }

    public void PostConfigure(string? name, LoggerFilterOptions options)
    {
        if (Minimum is { } minimum)
        {
            options.MinLevel = minimum;
            options.Rules.Clear();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _changed.Dispose();
        }
    }
}
