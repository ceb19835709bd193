// The scripted daemon that integration tests start under the real manager. Each argument is a
// step, run in order; each step prints one line to stdout (see the unit's StandardOutput=).
//   ready | stopping | status=TEXT | extend=USEC | sleep=MS | notify=RAW (\n as the two chars \n)
//   fdstore=NAME:PATH (open PATH, store it with FDNAME=NAME) | fdremove=NAME
//   barrier=MS | mainpid-child (spawn `sleep 600`, MAINPID= it with its credentials)
//   mainpid-handover (spawn `sleep 600`, Notification.SendMainPid(child)) | mainpidfdid=right|wrong (spawn
//     `sleep 600`, MAINPID= it with MAINPIDFDID= its pidfd's inode id, or 1, which no pidfd has)
//   raw-both=PATH:oversize|nul|ok (the same raw datagram to NOTIFY_SOCKET and to PATH: STATUS= of 4097 bytes
//     in all, STATUS=nul\0inside, or STATUS=after)
//   pidfdid=FILE (append LISTEN_PIDFDID as given and this process's pidfd inode id, read with stat(1), to FILE)
//   env=FILE (write LISTEN_* and NOTIFY_SOCKET to FILE) | wait (until SIGTERM, then STOPPING=1)
//   fdstore-new=NAME:PATH (fdstore only when no fd was passed back) | await=PATH (until it exists)
//   status-burst=N (STATUS=burst 1 .. STATUS=burst N as fast as possible)
//   status-as-child=TEXT (STATUS=TEXT sent with a child's pid in SCM_CREDENTIALS)
//   ready-unset (READY=1 with unsetEnvironment) | child-env=FILE (a child's `env` output to FILE)
//   show=UNIT:PROPERTY (what `systemctl show` of the manager running this says now) | exit=N
//   booted (ServiceManager.Booted)
//   failure (ERRNO=22, BUSERROR=, VARLINKERROR=, EXIT_STATUS=3 in one message) | restart-reset (RESTART_RESET=1)
//   notify-access=none|main|exec|all (NOTIFYACCESS=)
//   reload-on-hup=now|stale (on SIGHUP: RELOADING=1 with MONOTONIC_USEC of now, or of 1 µs after
//     boot, then READY=1: Type=notify-reload)
//   activation=FILE (ListenFds.Get(unsetEnvironment: true); write outcome, each fd, the LISTEN_* left in
//     the environment and the fds a child process holds to FILE)
//   listen-fds-cover (set LISTEN_FDS to the number of consecutive open fds from 3 on: every one the
//     runtime opened before Main, as a wrong LISTEN_FDS would claim) | activation-dispose (dispose the
//     result of activation=, then make the runtime JIT, emit code, collect and spawn: prove it lives)
//   serve=NAME (the first passed fd named NAME: a listening stream socket accepts one connection and
//     writes "hello from NAME <pid>\n"; a datagram socket answers one datagram with "echo:TEXT")
//   greet=NAME (the fd named NAME is a connection, Accept=yes: write "hello from NAME <pid>\n" to ToStream())
//   serve-loop=NAME (as serve, for every connection, on a background thread)
//   watchdog (start the keep-alive if WATCHDOG_USEC says so) | watchdog-unhealthy-after=MS
//   watchdog-change=MS (WatchdogKeepAlive.ChangeTimeout: WATCHDOG_USEC= and the new interval) | watchdog-trigger | starve (block every thread-pool thread for good) | crash-thread
//   journal=MODE:TAG (MODE auto|stderr|native: log every level, notice/alert/emerg, a multi-line
//     message, an exception with an inner one and a structured message through AddJournal, with
//     SyslogIdentifier TAG) | journal-big=TAG:BYTES (one native entry of BYTES bytes, through a memfd
//     above 1 MiB) | journal-check (print whether stderr is the journal, and JOURNAL_STREAM)
//   host-child=FILE (start a generic host with AddSdDaemon that never resolves ISdDaemonSockets, then write
//     the fds from 3 on a child process holds and the LISTEN_* it sees to FILE, and stop the host)
//   host-listener=NAME:PORT:FILE[:ONCE] (a generic host with AddSdDaemon; ISdDaemonSockets.GetOrBind(NAME, bind
//     127.0.0.1:PORT); append $FDSTORE, the passed names, and how many of this process's fds are that socket
//     to FILE. With ONCE, a file that does not exist yet: also store the socket again, as versions before
//     FS-2 did, and create ONCE)
//   host-health=N:RUN_MS (a generic host with AddSdDaemon and a health check that is Unhealthy the first N
//     times it runs, healthy after; runs RUN_MS with the console logger, then stops; prints the checks run)
//   keepalive-without-fds (lower RLIMIT_NOFILE, use up every descriptor, then Watchdog.StartKeepAlive:
//     print what it threw)
//   host=OPTIONS (a generic host from Host.CreateApplicationBuilder, console logger included, with
//     AddSdDaemon; OPTIONS comma-separated: ms-before / ms-after (Microsoft.Extensions.Hosting.Systemd's
//     AddSystemd() before / after AddSdDaemon()), start-ms=N (a hosted service takes N ms to start),
//     stop (stop at once after the start instead of on SIGTERM). Once started it logs a two-line
//     warning from category TestDaemon.Host; each reload prints "reload handler"; a failed start
//     prints "failed: MESSAGE" and exits 3)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
WatchdogKeepAlive? keepAlive = null;
ListenFdsResult? activated = null;
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
        "notify" => new Notification([.. arg.Split("\\n").Select(line => NotifyState.Assignment(line[..line.IndexOf('=')], line[(line.IndexOf('=') + 1)..]))]).Send().ToString(),
        "fdstore" => FdStore(arg),
        "fdstore-new" => Environment.GetEnvironmentVariable("LISTEN_FDS") is null ? FdStore(arg) : "passed back, not stored again",
        "await" => Await(arg),
        "status-burst" => StatusBurst(int.Parse(arg, CultureInfo.InvariantCulture)),
        "status-as-child" => StatusAsChild(arg),
        "ready-unset" => Notification.Ready.Send(unsetEnvironment: true).ToString(),
        "child-env" => ChildEnvironment(arg),
        "show" => Show(arg),
        "booted" => ServiceManager.Booted.ToString(),
        "failure" => new Notification(NotifyState.Errno(22), NotifyState.BusError("org.freedesktop.DBus.Error.TimedOut"),
            NotifyState.VarlinkError("org.varlink.service.InvalidParameter"), NotifyState.ExitStatus(3)).Send().ToString(),
        "restart-reset" => new Notification(NotifyState.RestartReset).Send().ToString(),
        "notify-access" => new Notification(NotifyState.NotifyAccessChange(Enum.Parse<NotifyAccess>(arg, ignoreCase: true))).Send().ToString(),
        "reload-on-hup" => ReloadOnHangup(arg == "stale"),
        "fdremove" => new Notification(NotifyState.FdStoreRemove, NotifyState.FdName(arg)).Send().ToString(),
        "barrier" => Notification.Barrier(TimeSpan.FromMilliseconds(int.Parse(arg, CultureInfo.InvariantCulture))).ToString(),
        "mainpid-child" => MainPidChild(),
        "mainpid-handover" => MainPidHandover(),
        "mainpidfdid" => MainPidFdId(arg == "right"),
        "pidfdid" => WritePidFdId(arg),
        "raw-both" => RawToBoth(arg),
        "env" => WriteEnvironment(arg),
        "wait" => Wait(),
        "exit" => Exit(int.Parse(arg, CultureInfo.InvariantCulture)),
        "activation" => Activation(arg),
        "listen-fds-cover" => CoverOpenDescriptors(),
        "activation-dispose" => DisposeActivation(),
        "serve" => Serve(arg),
        "serve-loop" => ServeLoop(arg),
        "greet" => Greet(arg),
        "watchdog" => StartWatchdog(null),
        "watchdog-unhealthy-after" => StartWatchdog(TimeSpan.FromMilliseconds(int.Parse(arg, CultureInfo.InvariantCulture))),
        "watchdog-change" => ChangeWatchdog(TimeSpan.FromMilliseconds(int.Parse(arg, CultureInfo.InvariantCulture))),
        "watchdog-trigger" => Notification.WatchdogTrigger.Send().ToString(),
        "starve" => Starve(),
        "crash-thread" => CrashThread(),
        "journal" => Journal(arg),
        "journal-big" => JournalBig(arg),
        "host-child" => HostChild(arg),
        "keepalive-without-fds" => KeepAliveWithoutFds(),
        "host-health" => HostHealth(arg),
        "host-listener" => HostListener(arg),
        "host" => RunHost(arg),
        "journal-check" => $"{JournalStreamCheck.IsStandardErrorJournal} JOURNAL_STREAM={Environment.GetEnvironmentVariable("JOURNAL_STREAM")}",
        _ => throw new ArgumentException($"unknown step '{step}'"),
    };
    Console.WriteLine($"{verb}: {result}");
}

return 0;

string Activation(string path)
{
    activated = ListenFds.Get(unsetEnvironment: true);
    var lines = new List<string> { $"outcome={activated.Outcome} errno={activated.Errno} count={activated.Count}" };
    foreach (ListenFd fd in activated)
    {
        lines.Add($"fd={fd.Fd} name={fd.Name} kind={fd.Kind} domain={fd.SocketDomain} type={fd.SocketType} listening={fd.IsListening}");
    }

    foreach (string name in new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES" })
    {
        lines.Add($"env {name}={Environment.GetEnvironmentVariable(name) ?? "(unset)"}");
    }

    // [ -e ] only stats, so the child opens nothing that could take one of these numbers itself.
    string numbers = string.Join(' ', Enumerable.Range(3, Math.Max(activated.Count, 1) + 2));
    var info = new ProcessStartInfo("/bin/sh", ["-c", $"for n in {numbers}; do [ -e /proc/$$/fd/$n ] && printf '%s ' $n; done; true"]) { RedirectStandardOutput = true, UseShellExecute = false };
    using (Process child = Process.Start(info)!)
    {
        lines.Add("child-fds=" + child.StandardOutput.ReadToEnd().Trim());
        child.WaitForExit();
    }

    var envInfo = new ProcessStartInfo("/bin/sh", ["-c", "env | grep ^LISTEN_ | sort | tr '\\n' ' '; true"]) { RedirectStandardOutput = true, UseShellExecute = false };
    using (Process child = Process.Start(envInfo)!)
    {
        lines.Insert(lines.Count - 1, "child-env=" + child.StandardOutput.ReadToEnd().Trim());
        child.WaitForExit();
    }

    File.WriteAllLines(path, lines);
    return activated.ToString();
}

string CoverOpenDescriptors()
{
    // readlink opens nothing, so counting does not change what is counted.
    int count = 0;
    while (new FileInfo($"/proc/self/fd/{3 + count}").LinkTarget is not null)
    {
        count++;
    }

    Environment.SetEnvironmentVariable("LISTEN_FDS", count.ToString(CultureInfo.InvariantCulture));
    return count.ToString(CultureInfo.InvariantCulture);
}

string DisposeActivation()
{
    activated?.Dispose();
    // What dies when the runtime's own descriptors were closed: new executable code (the W^X double
    // mapping lives in a memfd), the GC, reading assemblies, starting a process.
    var regex = new System.Text.RegularExpressions.Regex("^(a+)+b$", System.Text.RegularExpressions.RegexOptions.Compiled);
    bool matched = regex.IsMatch("aaab");
    GC.Collect();
    GC.WaitForPendingFinalizers();
    using (Process child = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!)
    {
        child.WaitForExit();
    }

    return $"survived matched={matched}";
}

string Serve(string name)
{
    ListenFd fd = activated?.First(name) ?? throw new InvalidOperationException($"no fd named {name}");
    Socket socket = fd.ToSocket();
    keep.Add(socket);
    return ServeOne(socket, name);
}

string Greet(string name)
{
    ListenFd fd = activated?.First(name) ?? throw new InvalidOperationException($"no fd named {name}");
    using Stream stream = fd.ToStream();
    stream.Write(Encoding.UTF8.GetBytes($"hello from {name} {Environment.ProcessId} via {stream.GetType().Name}\n"));
    return "greeted";
}

string ServeLoop(string name)
{
    ListenFd fd = activated?.First(name) ?? throw new InvalidOperationException($"no fd named {name}");
    Socket socket = fd.ToSocket();
    keep.Add(socket);
    var thread = new Thread(() =>
    {
        while (true)
        {
            ServeOne(socket, name);
        }
    }) { IsBackground = true };
    thread.Start();
    return "serving";
}

string ServeOne(Socket socket, string name)
{
    if (socket.SocketType == SocketType.Stream)
    {
        using Socket connection = socket.Accept();
        connection.Send(Encoding.UTF8.GetBytes($"hello from {name} {Environment.ProcessId}\n"));
        connection.Shutdown(SocketShutdown.Both);
        return "served a connection";
    }

    byte[] buffer = new byte[512];
    EndPoint from = socket.AddressFamily == AddressFamily.Unix
        ? new UnixDomainSocketEndPoint("/")
        : new IPEndPoint(IPAddress.Any, 0);
    int n = socket.ReceiveFrom(buffer, ref from);
    socket.SendTo(Encoding.UTF8.GetBytes("echo:" + Encoding.UTF8.GetString(buffer, 0, n)), from);
    return "answered a datagram";
}

string StartWatchdog(TimeSpan? healthyFor)
{
    var clock = Stopwatch.StartNew();
    Func<bool>? isHealthy = healthyFor is { } limit ? () => clock.Elapsed < limit : null;
    WatchdogStatus status = Watchdog.Check();
    WatchdogKeepAlive? keeper = Watchdog.StartKeepAliveIfEnabled(isHealthy);
    if (keeper is not null)
    {
        keep.Add(keeper);
        keepAlive = keeper;
    }

    return $"{status} interval={keeper?.Interval}";
}

string ChangeWatchdog(TimeSpan timeout)
{
    WatchdogKeepAlive keeper = keepAlive ?? throw new InvalidOperationException("no keep-alive: run the watchdog step first");
    NotifyResult sent = keeper.ChangeTimeout(timeout);
    return $"{sent} timeout={keeper.Timeout} interval={keeper.Interval}";
}

string Starve()
{
    var never = new ManualResetEventSlim();
    ThreadPool.GetMinThreads(out int workers, out _);
    for (int i = 0; i < workers * 4 + 64; i++)
    {
        ThreadPool.UnsafeQueueUserWorkItem(_ => never.Wait(), null);
    }

    return $"queued {workers * 4 + 64} blocking work items";
}

string CrashThread()
{
    UnhandledExceptionExit.Install();
    Console.Out.Flush();
    var thread = new Thread(() => throw new InvalidOperationException("crash on a worker thread"));
    thread.Start();
    thread.Join();
    Thread.Sleep(5000);
    return "still alive?";
}

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

string StatusBurst(int count)
{
    for (int i = 1; i <= count; i++)
    {
        NotifyResult sent = Notification.Status($"burst {i}").Send();
        if (!sent.IsSent)
        {
            return $"failed at {i}: {sent}";
        }
    }

    return "sent";
}

string StatusAsChild(string text)
{
    using var child = Process.Start(new ProcessStartInfo("/bin/sleep", "30") { UseShellExecute = false })!;
    NotifyResult sent = new Notification(NotifyState.Status(text)) { Pid = child.Id }.Send();
    // The manager attributes the message by the pid while it processes it: the child must live until then.
    Notification.Barrier(TimeSpan.FromSeconds(5));
    child.Kill();
    child.WaitForExit();
    return $"{child.Id} {sent}";
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
    // The user manager sets MANAGERPID for its services (systemd.exec(5)); PID 1 does not.
    string scope = Environment.GetEnvironmentVariable("MANAGERPID") is null ? "--system" : "--user";
    var info = new ProcessStartInfo("systemctl", [scope, "show", parts[0], "-p", parts[1], "--value"]) { RedirectStandardOutput = true, UseShellExecute = false };
    using Process process = Process.Start(info)!;
    string value = process.StandardOutput.ReadToEnd().Trim();
    process.WaitForExit();
    return value;
}

string ReloadOnHangup(bool stale)
{
    keep.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
    {
        context.Cancel = true;
        NotifyState timestamp = stale ? NotifyState.MonotonicUsec(1) : NotifyState.MonotonicUsec();
        Console.WriteLine("reloading: " + new Notification(NotifyState.Reloading, timestamp).Send());
        Console.WriteLine("reloaded: " + Notification.Ready.Send());
    }));
    return "registered";
}

string MainPidChild()
{
    var child = Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!;
    return $"{child.Id} " + new Notification(NotifyState.MainPid(child.Id)) { Pid = child.Id }.Send();
}

string MainPidHandover()
{
    var child = Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!;
    return $"{child.Id} " + Notification.SendMainPid(child);
}

string MainPidFdId(bool right)
{
    var child = Process.Start(new ProcessStartInfo("/bin/sleep", "600") { UseShellExecute = false })!;
    ulong id = right ? PidFdInodeId(child.Id) : 1;
    return $"{child.Id} {id} " + new Notification(NotifyState.MainPid(child.Id), NotifyState.MainPidFdId(id)).Send();
}

string RawToBoth(string arg)
{
    int colon = arg.LastIndexOf(':');
    byte[] datagram = arg[(colon + 1)..] switch
    {
        "oversize" => Encoding.ASCII.GetBytes("STATUS=" + new string('x', 4090)),
        "nul" => "STATUS=nul\0inside"u8.ToArray(),
        _ => "STATUS=after"u8.ToArray(),
    };
    using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    socket.SendTo(datagram, new UnixDomainSocketEndPoint(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")!));
    socket.SendTo(datagram, new UnixDomainSocketEndPoint(arg[..colon]));
    return $"{datagram.Length} bytes";
}

string WritePidFdId(string path)
{
    File.AppendAllLines(path, [$"LISTEN_PIDFDID={Environment.GetEnvironmentVariable("LISTEN_PIDFDID")}", $"OWN_PIDFDID={PidFdInodeId(Environment.ProcessId)}"]);
    return "written";
}

// A pidfd's inode id as stat(1) sees it through /proc (independent of the library's own reading).
static ulong PidFdInodeId(int pid)
{
    int fd = TestDaemonLibc.PidFdOpen(pid, 0);
    if (fd < 0)
    {
        throw new InvalidOperationException($"pidfd_open({pid}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    try
    {
        string inode = RunShell($"stat -L -c %i /proc/{Environment.ProcessId}/fd/{fd}");
        return ulong.Parse(inode, CultureInfo.InvariantCulture);
    }
    finally
    {
        _ = TestDaemonLibc.Close(fd);
    }
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

string HostChild(string path)
{
    HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
    builder.Logging.ClearProviders();
    builder.Services.AddSdDaemon();
    using IHost host = builder.Build();
    host.StartAsync().GetAwaiter().GetResult();
    string[] lines =
    [
        "child-fds=" + RunShell("for n in 3 4 5 6 7 8; do [ -e /proc/$$/fd/$n ] && printf '%s ' $n; done; true"),
        "child-env=" + RunShell("env | grep ^LISTEN_ | sort | tr '\\n' ' '; true"),
        "own-env=" + string.Join(' ', new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES" }.Where(n => Environment.GetEnvironmentVariable(n) is not null)),
    ];
    File.WriteAllLines(path, lines);
    host.StopAsync().GetAwaiter().GetResult();
    return "written";
}

string HostListener(string arg)
{
    string[] parts = arg.Split(':');
    string fdStore = Environment.GetEnvironmentVariable("FDSTORE") ?? "(unset)";
    // AddSdDaemon hides NOTIFY_SOCKET from children; the steps after this one still send.
    string? notifySocket = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
    HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
    builder.Logging.ClearProviders();
    builder.Services.AddSdDaemon();
    IHost host = builder.Build();
    keep.Add(host);
    var sockets = host.Services.GetRequiredService<SdDaemon.Hosting.ISdDaemonSockets>();
    Socket listener = sockets.GetOrBind(parts[0], () =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, int.Parse(parts[1], CultureInfo.InvariantCulture)));
        socket.Listen(16);
        return socket;
    });
    keep.Add(listener);
    Environment.SetEnvironmentVariable("NOTIFY_SOCKET", notifySocket);
    if (parts.Length > 3 && !File.Exists(parts[3]))
    {
        Console.WriteLine("stored again: " + new Notification(NotifyState.FdStore, NotifyState.FdName(parts[0])) { Files = [listener.SafeHandle] }.Send());
        File.WriteAllText(parts[3], "");
    }

    string target = new FileInfo($"/proc/self/fd/{listener.Handle}").LinkTarget!;
    int same = Directory.GetFiles("/proc/self/fd").Count(fd => new FileInfo(fd).LinkTarget == target);
    File.AppendAllLines(parts[2],
    [
        $"FDSTORE={fdStore}",
        "passed=" + string.Join(',', sockets.Passed.Select(fd => fd.Name)),
        $"same-socket-fds={same}",
        "---",
    ]);
    return "listening";
}

string HostHealth(string arg)
{
    int colon = arg.IndexOf(':', StringComparison.Ordinal);
    int unhealthyChecks = int.Parse(arg[..colon], CultureInfo.InvariantCulture);
    int runFor = int.Parse(arg[(colon + 1)..], CultureInfo.InvariantCulture);
    int checks = 0;
    HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
    builder.Logging.ClearProviders();
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.Services.AddSdDaemon();
    builder.Services.AddHealthChecks().AddCheck("flaky", () => Interlocked.Increment(ref checks) <= unhealthyChecks
        ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("warming up")
        : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy());
    using (IHost host = builder.Build())
    {
        host.StartAsync().GetAwaiter().GetResult();
        Thread.Sleep(runFor);
        host.StopAsync().GetAwaiter().GetResult();
    }

    return $"stopped after {Volatile.Read(ref checks)} checks";
}

string RunHost(string arg)
{
    string[] options = arg.Split(',', StringSplitOptions.RemoveEmptyEntries);
    int startMilliseconds = options.Where(o => o.StartsWith("start-ms=", StringComparison.Ordinal))
        .Select(o => int.Parse(o["start-ms=".Length..], CultureInfo.InvariantCulture)).FirstOrDefault();
    HostApplicationBuilder builder = Host.CreateApplicationBuilder([]);
    if (options.Contains("ms-before"))
    {
        builder.Services.AddSystemd();
    }

    builder.Services.AddSdDaemon(o =>
    {
        o.TimeoutExtensionInterval = TimeSpan.FromSeconds(1);
        o.WatchMemoryPressure = false;
    });
    if (options.Contains("ms-after"))
    {
        builder.Services.AddSystemd();
    }

    builder.Services.AddSingleton<SdDaemon.Hosting.IReloadHandler, PrintingReloadHandler>();
    builder.Services.AddHostedService(sp => new SlowStartService(startMilliseconds, sp.GetRequiredService<ILoggerFactory>().CreateLogger("TestDaemon.Host")));
    using IHost host = builder.Build();
    try
    {
        host.StartAsync().GetAwaiter().GetResult();
    }
    catch (InvalidOperationException e)
    {
        Console.WriteLine($"failed: {e.Message}");
        Console.Out.Flush();
        Environment.Exit(3);
    }

    if (!options.Contains("stop"))
    {
        host.WaitForShutdown();
    }

    host.StopAsync().GetAwaiter().GetResult();
    return "stopped";
}

static string RunShell(string script)
{
    // [ -e ] only stats, so the child opens nothing that could take one of these numbers itself.
    var info = new ProcessStartInfo("/bin/sh", ["-c", script]) { RedirectStandardOutput = true, UseShellExecute = false };
    using Process child = Process.Start(info)!;
    string output = child.StandardOutput.ReadToEnd().Trim();
    child.WaitForExit();
    return output;
}

unsafe string KeepAliveWithoutFds()
{
    using var channel = NotifyChannel.Create("/nonexistent/notify"); // never reached: the thread does not start
    Console.Out.Flush();
    ulong* limit = stackalloc ulong[2];
    if (TestDaemonLibc.GetRLimit(7 /* RLIMIT_NOFILE */, limit) != 0)
    {
        return "getrlimit failed";
    }

    limit[0] = (ulong)Directory.GetFiles("/proc/self/fd").Length + 64;
    if (TestDaemonLibc.SetRLimit(7, limit) != 0)
    {
        return "setrlimit failed";
    }

    var taken = new List<int>();
    byte* devNull = stackalloc byte[] { (byte)'/', (byte)'d', (byte)'e', (byte)'v', (byte)'/', (byte)'n', (byte)'u', (byte)'l', (byte)'l', 0 };
    for (int fd; (fd = TestDaemonLibc.Open(devNull, 0x80000 /* O_CLOEXEC */)) >= 0;)
    {
        taken.Add(fd);
    }

    string outcome;
    try
    {
        using WatchdogKeepAlive keeper = Watchdog.StartKeepAlive(TimeSpan.FromSeconds(10), channel: channel);
        outcome = "started";
    }
    catch (Exception e)
    {
        outcome = e is SdDaemonException sd ? $"{e.GetType().Name} errno={sd.Errno}: {e.Message}" : $"{e.GetType().Name}: {e.Message}";
    }

    foreach (int fd in taken)
    {
        _ = TestDaemonLibc.Close(fd);
    }

    return $"{outcome} (after {taken.Count} descriptors)";
}

string Exit(int code)
{
    Console.Out.Flush();
    Environment.Exit(code);
    return "";
}

/// <summary>Step host: prints each reload on stdout.</summary>
internal sealed class PrintingReloadHandler : SdDaemon.Hosting.IReloadHandler
{
    public Task ReloadAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine("reload handler");
        return Task.CompletedTask;
    }
}

/// <summary>Step host: a start that takes a while, then a two-line warning once the host runs.</summary>
internal sealed class SlowStartService(int startMilliseconds, ILogger logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Thread.Sleep(startMilliseconds);
        logger.LogWarning("first line\nsecond line");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The libc calls the scripted steps need beyond the library's public API.</summary>
internal static unsafe partial class TestDaemonLibc
{
    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, ulong* limit);

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRLimit(int resource, ulong* limit);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a, long b);

    /// <summary>pidfd_open(2) (434 on every architecture).</summary>
    public static int PidFdOpen(int pid, int flags) => (int)Syscall(434, pid, flags);
}
