// Logs at every level, a multi-line message, an exception with an inner one and a structured
// message through the journal provider. Run it:
//   interactively:            dotnet run              -> plain "info: ..." lines
//   as a unit (see the .service file, StandardError=journal):
//                             journalctl -u journal-logging -o verbose   -> PRIORITY, LOGGER_CATEGORY, ORDER_ID...
//   forcing the <N> form:     dotnet run -- --stderr 2>&1 | cat
// Pass --emerg to also log at emerg (0): journald sends those to every terminal (ForwardToWall).
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;

bool stderr = args.Contains("--stderr");
bool emerg = args.Contains("--emerg");

using ILoggerFactory factory = LoggerFactory.Create(builder => builder
    .SetMinimumLevel(LogLevel.Trace)
    .AddJournal(options =>
    {
        options.IncludeScopes = true;
        if (stderr)
        {
            options.Output = JournalOutput.PrefixedStderr;
        }
    }));

ILogger logger = factory.CreateLogger("JournalLogging");
logger.LogTrace("trace: the finest detail");
logger.LogDebug("debug: a detail");
logger.LogInformation("information: started");
logger.LogNotice("notice: configuration reloaded");
logger.LogWarning("warning: disk 91% full");
logger.LogError("error: request failed");
logger.LogCritical("critical: database unreachable");
logger.LogAlert("alert: data loss imminent");
if (emerg)
{
    logger.LogEmergency("emerg: the system is unusable");
}

logger.LogWarning("a multi-line message:\n  every line is its own record under <N>,\n  one entry under the native protocol");

try
{
    try
    {
        throw new TimeoutException("the backend did not answer");
    }
    catch (TimeoutException inner)
    {
        throw new InvalidOperationException("cannot place the order", inner);
    }
}
catch (InvalidOperationException e)
{
    logger.LogError(e, "order {OrderId} failed", 42);
}

using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "r-9" }))
{
    if (logger.IsEnabled(LogLevel.Information)) // boxing the arguments only when they are logged
    {
        logger.LogInformation(new EventId(12, "Ordered"), "order {OrderId} for {Customer} at {Price}", 43, "alice", 9.99m);
    }
}

// Without Microsoft.Extensions.Logging: the <N> writer on fd 2, and a TextWriter for text-only code.
StderrLogger.Standard.Notice("written by StderrLogger, without Microsoft.Extensions.Logging");
using (TextWriter warnings = StderrLogger.Standard.Writer(SyslogPriority.Warning))
{
    warnings.WriteLine("written through a TextWriter at warning");
}

Console.WriteLine($"stderr is the journal: {JournalStreamCheck.IsStandardErrorJournal}; provider output: {(stderr ? JournalOutput.PrefixedStderr : JournalOutput.Auto)}");
return 0;
