// A Kestrel minimal-API app that is a first-class systemd service through SdDaemon.Hosting:
// READY=1 once Kestrel listens, STATUS= from a request counter, STOPPING=1 and exit 0 on SIGTERM,
// reload on SIGHUP, the watchdog driven by a health check, and its listening socket either passed
// by webapp.socket (FileDescriptorName=web) or bound on first start and kept in the fd store, so
// `systemctl restart` refuses no connection.
//   GET /            "hello from <pid>"        GET /sick   the health check turns Unhealthy
//   GET /child       runs `ls -l /proc/self/fd` and `env` as child processes: what a child inherits
//                    (no listening socket, no LISTEN_*, no NOTIFY_SOCKET)
//   GET /slow?ms=N   answers after N ms: in-flight work that a stop lets finish
//   GET /fail-next-reload  the next reload (SIGHUP, `systemctl reload` with Type=notify-reload) fails
//   GET /greeting    the Greeting setting, from the credential webapp.Greeting (SetCredential= or
//                    LoadCredentialEncrypted= in webapp.service); `systemctl reload` re-reads it
//   GET /visits      a counter kept in StateDirectory= ($STATE_DIRECTORY), so it survives restarts
// Usage: WebApp [--port N] [--drain SECONDS] [--shutdown-timeout SECONDS]
//   --port              default 8080; ignored when a socket is passed
//   --drain             lame-duck period after SIGTERM: STOPPING=1 and STATUS=draining, still serving (default 0)
//   --shutdown-timeout  the bound on in-flight work once it stops accepting (HostOptions.ShutdownTimeout, default 30)
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SdDaemon.Hosting;

WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(args);
// Secrets and settings from the unit's credentials: webapp.Greeting is the key Greeting.
builder.Configuration.AddSystemdCredentials("webapp.");
int port = builder.Configuration.GetValue("port", 8080);
double drain = builder.Configuration.GetValue("drain", 0.0);
double shutdownTimeout = builder.Configuration.GetValue("shutdown-timeout", 30.0);
builder.Services.AddSdDaemon(options =>
{
    options.ReadyStatus = "serving";
    options.DrainDelay = TimeSpan.FromSeconds(drain);
});
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(shutdownTimeout));
var health = new AppHealth();
var reloads = new FailingReload();
builder.Services.AddSingleton<IReloadHandler>(reloads);
builder.Services.AddHealthChecks().AddCheck("app", () => health.Sick ? HealthCheckResult.Unhealthy("asked to be sick") : HealthCheckResult.Healthy());
Socket? listener = null;
builder.WebHost.ConfigureKestrel(kestrel =>
{
    if (!OperatingSystem.IsLinux())
    {
        kestrel.ListenLocalhost(port);
        return;
    }

    ISdDaemonSockets sockets = kestrel.ApplicationServices.GetRequiredService<ISdDaemonSockets>();
    listener = sockets.GetOrBind("web", () =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
        socket.Listen(512);
        return socket;
    });
    kestrel.ListenHandle((ulong)listener.Handle);
});

// Kestrel wraps a ListenHandle descriptor in a socket that does not own it, so on its own it would
// never close it: the port would keep completing connections into the backlog all through the
// shutdown and reset them at exit. Handing Kestrel our Socket instead makes its unbind close the
// descriptor: once it stops accepting, a new connection is refused at once (when the manager holds
// a copy, in the fd store or a socket unit, the socket stays open there and the next instance serves it).
builder.WebHost.UseSockets(transport => transport.CreateBoundListenSocket = endpoint =>
    endpoint is FileHandleEndPoint passed && listener is not null && passed.FileHandle == (ulong)listener.Handle
        ? listener
        : SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint));

WebApplication app = builder.Build();
long served = 0;
ISdDaemonNotifier notifier = app.Services.GetRequiredService<ISdDaemonNotifier>();
app.MapGet("/", () =>
{
    long n = Interlocked.Increment(ref served);
    if (OperatingSystem.IsLinux() && n % 100 == 0)
    {
        notifier.SetStatus($"serving: {n} requests");
    }

    return $"hello from {Environment.ProcessId}\n";
});
app.MapGet("/greeting", (IConfiguration configuration) => (configuration["Greeting"] ?? "hello") + "\n");
string stateDirectory = (OperatingSystem.IsLinux() ? app.Services.GetRequiredService<SdDaemon.ServiceDirectories>().GetFirst(SdDaemon.ServiceDirectoryKind.State) : null)
    ?? Path.GetTempPath();
var visitsLock = new object();
app.MapGet("/visits", () =>
{
    lock (visitsLock)
    {
        string path = Path.Combine(stateDirectory, "visits");
        long visits = (File.Exists(path) ? long.Parse(File.ReadAllText(path), System.Globalization.CultureInfo.InvariantCulture) : 0) + 1;
        File.WriteAllText(path + ".tmp", visits.ToString(System.Globalization.CultureInfo.InvariantCulture));
        File.Move(path + ".tmp", path, overwrite: true);
        return $"{visits}\n";
    }
});
app.MapGet("/sick", () =>
{
    health.Sick = true;
    return "sick\n";
});
app.MapGet("/fail-next-reload", () =>
{
    reloads.FailNext = true;
    return "the next reload fails\n";
});
app.MapGet("/slow", async (int ms) =>
{
    await Task.Delay(ms);
    return $"done after {ms} ms\n";
});
app.MapGet("/child", () => RunChild("/bin/ls", "-l", "/proc/self/fd") + RunChild("/usr/bin/env"));
app.MapHealthChecks("/health");
// Under StandardError=journal this goes to the journal natively (SdDaemon.Logging picks itself),
// with LISTENER= as a field of its own.
app.Lifetime.ApplicationStarted.Register(() =>
{
    string listeners = string.Join(", ", app.Urls);
    Log.Serving(app.Logger, Environment.ProcessId, listeners);
});
app.Run();
return 0;

// Every standard stream redirected, so that what the child lists are its own pipes and whatever
// else leaked to it.
static string RunChild(string program, params string[] arguments)
{
    var start = new System.Diagnostics.ProcessStartInfo(program, arguments)
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    using var child = System.Diagnostics.Process.Start(start)!;
    child.StandardInput.Close();
    string output = child.StandardOutput.ReadToEnd();
    child.WaitForExit();
    return output;
}

internal sealed class AppHealth
{
    public volatile bool Sick;
}

/// <summary>Application code run on every reload; fails once when asked to, to show what a failed
/// reload looks like from the manager's side.</summary>
internal sealed class FailingReload : IReloadHandler
{
    public volatile bool FailNext;

    public Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (FailNext)
        {
            FailNext = false;
            throw new InvalidOperationException("asked to fail");
        }

        return Task.CompletedTask;
    }
}

internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Information, Message = "WebApp {Pid} serving on {Listener}")]
    public static partial void Serving(ILogger logger, int pid, string listener);
}
