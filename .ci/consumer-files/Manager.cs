// Plays the service manager for a consumer's program, with SdDaemon.Testing from the local feed:
// NOTIFY_SOCKET for the program, READY=1 from the program's own pid, then SIGTERM, STOPPING=1 and
// exit status 0, as systemd would see a Type=notify service start and stop.
//   Manager PROGRAM [ARGS...]
using System.Diagnostics;
using System.Runtime.Versioning;
using SdDaemon.Testing;

[assembly: SupportedOSPlatform("linux")]

using var manager = NotifyReceiver.Bind();
var start = new ProcessStartInfo(args[0]);
foreach (string argument in args.Skip(1))
{
    start.ArgumentList.Add(argument);
}

start.Environment["NOTIFY_SOCKET"] = manager.NotifySocket;
using Process program = Process.Start(start)!;
try
{
    NotifyMessage ready = manager.WaitFor("READY", "1", TimeSpan.FromSeconds(60));
    if (ready.Pid != program.Id)
    {
        throw new InvalidOperationException($"READY=1 came from pid {ready.Pid}, not from the program's {program.Id}");
    }

    Console.WriteLine($"consumer: READY=1 from pid {ready.Pid}");
    using (Process kill = Process.Start("kill", ["-TERM", program.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
    {
        kill.WaitForExit();
    }

    manager.WaitFor("STOPPING", "1", TimeSpan.FromSeconds(30));
    if (!program.WaitForExit(TimeSpan.FromSeconds(30)))
    {
        throw new TimeoutException("the program did not exit within 30 s of SIGTERM");
    }

    Console.WriteLine($"consumer: STOPPING=1, exit status {program.ExitCode}");
    return program.ExitCode == 0 ? 0 : 1;
}
finally
{
    if (!program.HasExited)
    {
        program.Kill();
    }
}
