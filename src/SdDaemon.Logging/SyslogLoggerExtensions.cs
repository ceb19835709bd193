using SdDaemon.Logging;
using SdDaemon.Logging.Internal;

namespace Microsoft.Extensions.Logging;

/// <summary>
/// Logging at the syslog priorities that <see cref="LogLevel"/> has no level for: notice (5), alert (1)
/// and emerg (0) (<see href="https://www.freedesktop.org/software/systemd/man/sd-daemon.html">sd-daemon(3)</see>).
/// The journal provider writes the exact priority; every other provider sees the nearest level:
/// notice as <see cref="LogLevel.Information"/>, alert and emerg as <see cref="LogLevel.Critical"/>.
/// Message templates work as in <c>LogInformation</c>: named holes, formatted with the invariant culture.
/// </summary>
public static class SyslogLoggerExtensions
{
    /// <summary>Logs at notice (5): normal but significant, e.g. a configuration reload.</summary>
    public static void LogNotice(this ILogger logger, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Notice, default, null, message, args);

    /// <summary>Logs at notice (5) with an event id.</summary>
    public static void LogNotice(this ILogger logger, EventId eventId, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Notice, eventId, null, message, args);

    /// <summary>Logs at alert (1): action must be taken immediately.</summary>
    public static void LogAlert(this ILogger logger, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Alert, default, null, message, args);

    /// <summary>Logs at alert (1) with an exception.</summary>
    public static void LogAlert(this ILogger logger, Exception? exception, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Alert, default, exception, message, args);

    /// <summary>Logs at emerg (0): the system is unusable.</summary>
    public static void LogEmergency(this ILogger logger, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Emerg, default, null, message, args);

    /// <summary>Logs at emerg (0) with an exception.</summary>
    public static void LogEmergency(this ILogger logger, Exception? exception, string? message, params object?[] args) =>
        logger.LogSyslog(SyslogPriority.Emerg, default, exception, message, args);

    /// <summary>Logs at any syslog priority; the <see cref="LogLevel"/> other providers see is
    /// <see cref="ToLogLevel"/> of it.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="logger"/> is null.</exception>
    public static void LogSyslog(this ILogger logger, SyslogPriority priority, EventId eventId, Exception? exception, string? message, params object?[] args)
    {
        ArgumentNullException.ThrowIfNull(logger);
        LogLevel level = ToLogLevel(priority);
        if (!logger.IsEnabled(level))
        {
            return;
        }

        logger.Log(level, eventId, new SyslogLogValues(priority, message, args), exception, SyslogLogValues.Format);
    }

    /// <summary>The level that stands for <paramref name="priority"/> where there is no exact one:
    /// emerg, alert, crit to Critical; err to Error; warning to Warning; notice, info to Information;
    /// debug to Debug.</summary>
    public static LogLevel ToLogLevel(SyslogPriority priority) => priority switch
    {
        SyslogPriority.Emerg or SyslogPriority.Alert or SyslogPriority.Crit => LogLevel.Critical,
        SyslogPriority.Err => LogLevel.Error,
        SyslogPriority.Warning => LogLevel.Warning,
        SyslogPriority.Notice or SyslogPriority.Info => LogLevel.Information,
        _ => LogLevel.Debug,
    };

    /// <summary>The syslog priority the journal provider writes for <paramref name="level"/>:
    /// Trace and Debug 7, Information 6, Warning 4, Error 3, Critical 2.</summary>
    public static SyslogPriority ToSyslogPriority(LogLevel level) => level switch
    {
        LogLevel.Critical => SyslogPriority.Crit,
        LogLevel.Error => SyslogPriority.Err,
        LogLevel.Warning => SyslogPriority.Warning,
        LogLevel.Information => SyslogPriority.Info,
        _ => SyslogPriority.Debug,
    };
}
