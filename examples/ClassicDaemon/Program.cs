// A classic daemon (daemon(7), SysV style) in a few lines on top of SdDaemon:
//
//   ClassicDaemon --daemon --pidfile /run/classic.pid [--user nobody] [--log /var/log/classic.log]
//   ClassicDaemon --stop   --pidfile /run/classic.pid      (SIGTERM, waits for the exit)
//   ClassicDaemon --reload --pidfile /run/classic.pid      (SIGHUP)
//   ClassicDaemon --status --pidfile /run/classic.pid      (LSB: 0 running, 3 not running, 4 unknown)
//
// Without --daemon it runs in the foreground and notifies $NOTIFY_SOCKET (Type=notify).
// The launcher returns only after the daemon sent READY=1: exit 0, or 1 with the reason.
using System.Globalization;
using System.Runtime.InteropServices;
using SdDaemon;

var options = new DaemonOptions();
bool daemonize = false;
string? command = null;
string? keepLock = null;
string? captureFile = null;
string? failBeforeReady = null;
int crashBeforeReady = -1;
bool abortBeforeReady = false;
string? throwBeforeReady = null;
int readyDelay = 0;
int extendTimeout = 0;
bool exitAfterReady = false;
bool exhaustFds = false;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--daemon": daemonize = true; break;
        case "--pidfile": options.PidFile = Next(); break;
        case "--stop" or "--reload" or "--status": command = args[i]; break;
        case "--user": options.User = Next(); break;
        case "--group": options.Group = Next(); break;
        case "--log": options.Output = DaemonOutput.AppendToFile(Next()); break;
        case "--umask": options.Umask = (UnixFileMode)Convert.ToInt32(Next(), 8); break;
        case "--chdir": options.WorkingDirectory = Next(); break;
        case "--chroot": options.RootDirectory = Next(); break;
        case "--sanitize-env": options.SanitizeEnvironment = true; break;
        case "--start-timeout": options.StartTimeout = TimeSpan.FromMilliseconds(int.Parse(Next(), CultureInfo.InvariantCulture)); break;
        case "--keep-lock": keepLock = Next(); break;
        case "--capture": captureFile = Next(); options.Output = DaemonOutput.Capture; break;
        case "--fail-before-ready": failBeforeReady = Next(); break;
        case "--throw-before-ready": throwBeforeReady = Next(); break;
        case "--crash-before-ready": crashBeforeReady = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--abort-before-ready": abortBeforeReady = true; break;
        case "--ready-delay": readyDelay = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--extend-timeout": extendTimeout = int.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--exit-after-ready": exitAfterReady = true; break;
        case "--exhaust-fds": exhaustFds = true; break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}");
            return 2;
    }
}

if (command is not null)
{
    if (options.PidFile is null)
    {
        Console.Error.WriteLine($"{command} needs --pidfile");
        return 2;
    }

    try
    {
        switch (command)
        {
            case "--stop":
                Console.WriteLine($"stopped pid {DaemonControl.Stop(options.PidFile, TimeSpan.FromSeconds(10))}");
                return 0;
            case "--reload":
                Console.WriteLine($"reload sent to pid {DaemonControl.Reload(options.PidFile)}");
                return 0;
            default:
                Console.WriteLine($"running as pid {DaemonControl.FindRunning(options.PidFile)}");
                return 0;
        }
    }
    catch (DaemonNotRunningException e)
    {
        Console.Error.WriteLine(e.Message);
        return command == "--status" ? 3 : 7; // LSB: not running
    }
    catch (IOException e)
    {
        Console.Error.WriteLine(e.Message); // e.g. the PID file cannot be read: whether it runs is unknown
        return command == "--status" ? 4 : 1; // LSB: status unknown; generic failure
    }
}

DaemonContext? context = null;
if (daemonize)
{
    // Everything above runs in each stage; what only the original should open goes here.
    if (Daemon.Stage == DaemonStage.Original && keepLock is not null)
    {
        var locked = File.OpenHandle(keepLock, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); // flock(LOCK_EX)
        options.KeepFiles.Add(locked);
    }

    var hoarded = new List<Microsoft.Win32.SafeHandles.SafeFileHandle>();
    while (exhaustFds && Daemon.Stage == DaemonStage.Original)
    {
        try
        {
            hoarded.Add(File.OpenHandle("/dev/null")); // until EMFILE: how Daemon.Start copes with no free descriptor
        }
        catch (IOException)
        {
            break;
        }
    }

    context = Daemon.Start(options); // returns only in the daemon
    if (abortBeforeReady)
    {
        // Dies at once, before READY=1 and without a word (no EXIT_STATUS=): a crash.
        System.Diagnostics.Process.GetCurrentProcess().Kill(); // SIGKILL
    }
    if (context.CapturedOutput is { } captured && captureFile is not null)
    {
        // What the daemon writes to stdout/stderr, forwarded line by line (as a logger would).
        // Opened after Start: relative to the daemon's working directory, as the user it runs as.
        var sink = new StreamWriter(captureFile, append: true) { AutoFlush = true };
        new Thread(() =>
        {
            using var reader = new StreamReader(captured);
            while (reader.ReadLine() is { } line)
            {
                sink.WriteLine("captured: " + line);
            }
        }) { IsBackground = true }.Start();
    }
}

Console.WriteLine($"started pid={Environment.ProcessId} stage={Daemon.Stage} kept={string.Join(',', context?.KeptFiles.Select(f => f.DangerousGetHandle()) ?? [])}");
if (extendTimeout > 0)
{
    new Notification(NotifyState.ExtendTimeout(TimeSpan.FromMilliseconds(extendTimeout)), NotifyState.Status("warming up")).Send();
}

if (readyDelay > 0)
{
    Thread.Sleep(readyDelay);
}

if (failBeforeReady is not null)
{
    new Notification(NotifyState.Errno(2), NotifyState.Status(failBeforeReady)).Send();
    return 3;
}

if (throwBeforeReady is not null)
{
    throw new InvalidOperationException(throwBeforeReady);
}

if (crashBeforeReady >= 0)
{
    Environment.Exit(crashBeforeReady);
}

int reloads = 0;
using var stopped = new ManualResetEventSlim();
using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
{
    signal.Cancel = true;
    Notification.Reloading().Send();
    Console.WriteLine($"reloaded {Interlocked.Increment(ref reloads)}");
    Notification.Ready.Send();
});
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
{
    // Cancelled, so that Main returns and the process exits cleanly (ProcessExit removes the PID
    // file); left alone, the runtime's default action would kill the process on the spot.
    signal.Cancel = true;
    Notification.Stopping.Send();
    Console.WriteLine("stopping");
    stopped.Set();
});

Console.WriteLine($"sending READY=1 at {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
new Notification(NotifyState.Ready, NotifyState.Status("serving")).Send();
Console.WriteLine("ready");
if (!exitAfterReady)
{
    stopped.Wait();
}

context?.Dispose();
return 0;
