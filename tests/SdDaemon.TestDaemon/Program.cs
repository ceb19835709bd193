// The scripted daemon that integration tests start under the real manager. Each argument is a
// step, run in order; each step prints one line to stdout (see the unit's StandardOutput=).
//   ready | stopping | status=TEXT | extend=USEC | sleep=MS | notify=RAW (\n as the two chars \n)
//   fdstore=NAME:PATH (open PATH, store it with FDNAME=NAME) | fdremove=NAME
//   barrier=MS | mainpid-child (spawn `sleep 600`, MAINPID= it with its credentials)
//   env=FILE (write LISTEN_* and NOTIFY_SOCKET to FILE) | wait (until SIGTERM, then STOPPING=1)
//   fdstore-new=NAME:PATH (fdstore only when no fd was passed back) | await=PATH (until it exists)
//   ready-unset (READY=1 with unsetEnvironment) | child-env=FILE (a child's `env` output to FILE)
//   show=UNIT:PROPERTY (what `systemctl --user show` says now) | exit=N
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SdDaemon;

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
        "fdstore-new" => Environment.GetEnvironmentVariable("LISTEN_FDS") is null ? FdStore(arg) : "passed back, not stored again",
        "await" => Await(arg),
        "ready-unset" => Notification.Ready.Send(unsetEnvironment: true).ToString(),
        "child-env" => ChildEnvironment(arg),
        "show" => Show(arg),
        "fdremove" => new Notification(NotifyState.FdStoreRemove, NotifyState.FdName(arg)).Send().ToString(),
        "barrier" => Notification.Barrier(TimeSpan.FromMilliseconds(int.Parse(arg, CultureInfo.InvariantCulture))).ToString(),
        "mainpid-child" => MainPidChild(),
        "env" => WriteEnvironment(arg),
        "wait" => Wait(),
        "exit" => Exit(int.Parse(arg, CultureInfo.InvariantCulture)),
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

string ChildEnvironment(string path)
{
    var info = new ProcessStartInfo("/usr/bin/env") { RedirectStandardOutput = true, UseShellExecute = false };
    using Process process = Process.Start(info)!;
    File.WriteAllText(path, process.StandardOutput.ReadToEnd());
    process.WaitForExit();
    return "written";
}

string Await(string path)
{
    while (!File.Exists(path))
    {
        Thread.Sleep(20);
    }

    return "found";
}

string Show(string arg)
{
    string[] parts = arg.Split(':');
    var info = new ProcessStartInfo("systemctl", ["--user", "show", parts[0], "-p", parts[1], "--value"]) { RedirectStandardOutput = true, UseShellExecute = false };
    using Process process = Process.Start(info)!;
    string value = process.StandardOutput.ReadToEnd().Trim();
    process.WaitForExit();
    return value;
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
    lines.Add("---");
    File.AppendAllLines(path, lines);
    return "written";
}

string Wait()
{
    stop.Wait();
    return "SIGTERM " + Notification.Stopping.Send();
}

string Exit(int code)
{
    Console.Out.Flush();
    Environment.Exit(code);
    return "";
}
