// The scripted daemon that integration tests start under the real manager. Each argument is a
// step, run in order; each step prints one line to stdout (see the unit's StandardOutput=).
//   ready | stopping | status=TEXT | extend=USEC | sleep=MS | notify=RAW (\n as the two chars \n)
//   fdstore=NAME:PATH (open PATH, store it with FDNAME=NAME) | fdremove=NAME
//   barrier=MS | mainpid-child (spawn `sleep 600`, MAINPID= it with its credentials)
//   env=FILE (write LISTEN_* and NOTIFY_SOCKET to FILE) | wait (until SIGTERM, then STOPPING=1)
//   exit=N
//   journal=MODE:TAG (MODE auto|stderr|native: log every level, notice/alert/emerg, a multi-line
//     message, an exception with an inner one and a structured message through AddJournal, with
//     SyslogIdentifier TAG) | journal-big=TAG:BYTES (one native entry of BYTES bytes, through a memfd
//     above 1 MiB) | journal-check (print whether stderr is the journal, and JOURNAL_STREAM)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SdDaemon;
using SdDaemon.Logging;

if (!OperatingSystem.IsLinux())
{
    return 1;
}

var stop = new ManualResetEventSlim();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Set();
});

var keep = new List<IDisposable>();
foreach (string step in args)
{
    int eq = step.IndexOf('=', StringComparison.Ordinal);
    string verb = eq < 0 ? step : step[..eq];
    string arg = eq < 0 ? "" : step[(eq + 1)..];
    string result = verb switch
    {
        "ready" => Notification.Ready.Send().ToString(),
        "stopping" => Notification.Stopping.Send().ToString(),
        "status" => Notification.Status(arg).Send().ToString(),
        "extend" => new Notification(NotifyState.ExtendTimeout(TimeSpan.FromTicks(long.Parse(arg, CultureInfo.InvariantCulture) * 10))).Send().ToString(),
        "sleep" => Sleep(int.Parse(arg, CultureInfo.InvariantCulture)),
        "notify" => Notification.FromText(arg.Replace("\\n", "\n", StringComparison.Ordinal)).Send().ToString(),
        "fdstore" => FdStore(arg),
        "fdremove" => new Notification(NotifyState.FdStoreRemove, NotifyState.FdName(arg)).Send().ToString(),
        "barrier" => Notification.Barrier(TimeSpan.FromMilliseconds(int.Parse(arg, CultureInfo.InvariantCulture))).ToString(),
        "mainpid-child" => MainPidChild(),
        "env" => WriteEnvironment(arg),
        "wait" => Wait(),
        "exit" => Exit(int.Parse(arg, CultureInfo.InvariantCulture)),
        "journal" => Journal(arg),
        "journal-big" => JournalBig(arg),
        "journal-check" => $"{JournalStreamCheck.IsStandardErrorJournal} JOURNAL_STREAM={Environment.GetEnvironmentVariable("JOURNAL_STREAM")}",
        _ => throw new ArgumentException($"unknown step '{step}'"),
    };
    Console.WriteLine($"{verb}: {result}");
}

return 0;

string Sleep(int milliseconds)
{
    Thread.Sleep(milliseconds);
    return "slept";
}

string FdStore(string arg)
{
    int colon = arg.IndexOf(':', StringComparison.Ordinal);
    var file = File.Open(arg[(colon + 1)..], FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
    keep.Add(file);
    return new Notification(NotifyState.FdStore, NotifyState.FdName(arg[..colon])) { Files = [file.SafeFileHandle] }.Send().ToString();
}

string MainPidChild()
{
    var child = Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!;
    return $"{child.Id} " + new Notification(NotifyState.MainPid(child.Id)) { Pid = child.Id }.Send();
}

string WriteEnvironment(string path)
{
    var lines = new List<string>();
    foreach (string name in new[] { "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM" })
    {
        lines.Add($"{name}={Environment.GetEnvironmentVariable(name)}");
    }

    lines.Add($"PID={Environment.ProcessId}");
    File.WriteAllLines(path, lines);
    return "written";
}

string Wait()
{
    stop.Wait();
    return "SIGTERM " + Notification.Stopping.Send();
}

string Journal(string arg)
{
    int colon = arg.IndexOf(':', StringComparison.Ordinal);
    string mode = arg[..colon];
    string tag = arg[(colon + 1)..];
    using (ILoggerFactory factory = LoggerFactory.Create(builder => builder
        .SetMinimumLevel(LogLevel.Trace)
        .AddJournal(o =>
        {
            o.Output = mode switch
            {
                "stderr" => JournalOutput.PrefixedStderr,
                "native" => JournalOutput.Native,
                _ => JournalOutput.Auto,
            };
            o.SyslogIdentifier = tag;
            o.IncludeScopes = mode != "stderr";
        })))
    {
        ILogger logger = factory.CreateLogger("Demo");
        logger.LogTrace("trace");
        logger.LogDebug("debug");
        logger.LogInformation("info");
        logger.LogWarning("warning");
        logger.LogError("error");
        logger.LogCritical("critical");
        logger.LogNotice("notice");
        logger.LogAlert("alert");
        logger.LogEmergency("emerg");
        logger.LogWarning("multi line 1\nmulti line 2\nmulti line 3");
        var error = new InvalidOperationException("outer", new ArgumentException("inner"));
        logger.LogError(error, "failed");
        using (logger.BeginScope(new Dictionary<string, object?> { ["RequestId"] = "r-9" }))
        {
#pragma warning disable CA1873 // a test of the message template's arguments
            logger.LogInformation(new EventId(12, "Ordered"), "order {OrderId} for {Customer}", 42, "alice");
#pragma warning restore CA1873
        }
    }

    return "logged " + mode;
}

string JournalBig(string arg)
{
    int colon = arg.IndexOf(':', StringComparison.Ordinal);
    string tag = arg[..colon];
    int size = int.Parse(arg[(colon + 1)..], CultureInfo.InvariantCulture);
    using var writer = JournalNativeWriter.Create(JournalNativeWriter.DefaultSocketPath);
    writer.MaxDatagramSize = 1024 * 1024; // above 1 MiB: the sealed memfd (spec J-4)
    using var entry = new JournalEntry();
    var text = new System.Text.StringBuilder(size);
    for (int i = 0; text.Length < size; i++)
    {
        text.Append(CultureInfo.InvariantCulture, $"{i:D7}\n");
    }

    entry.Add("MESSAGE", text.ToString(0, size)).AddPriority(SyslogPriority.Info).Add("SYSLOG_IDENTIFIER", tag).Add("BIG_ENTRY", "yes");
    return $"{writer.Send(entry).Outcome} {entry.Length}";
}

string Exit(int code)
{
    Console.Out.Flush();
    Environment.Exit(code);
    return "";
}
