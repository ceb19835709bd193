// A Type=dbus service on the generic host (see dbus-service.service and docs/dbus.md): one
// interface, org.sddaemon.Example1 at /org/sddaemon/Example, with a method, two properties and a
// signal; the name org.sddaemon.Example taken as the last step of start-up; a logind delay lock
// that lets it finish its work before the machine shuts down.
//
//   busctl call org.sddaemon.Example /org/sddaemon/Example org.sddaemon.Example1 Greet s world
//   busctl get-property org.sddaemon.Example /org/sddaemon/Example org.sddaemon.Example1 Greetings
//   busctl introspect org.sddaemon.Example /org/sddaemon/Example
//
// Configuration (command line --Key value, or environment): BusName, Bus (System|User), Address,
// NameOptions (e.g. AllowReplacement), StartDelayMs (slow start-up, to watch Type=dbus wait for
// the name), PrepareFile (where the shutdown handler writes what it did), PrepareDelayMs,
// PrepareUntilFile (the handler waits until that file exists: a test decides when the lock goes),
// ReleaseNameAfterMs (give the name up while running, to watch the manager stop a Type=dbus unit),
// Inhibit (what the delay lock holds back, default Shutdown; e.g. "Shutdown, Sleep"), SleepFile
// (where the sleep handler notes "prepared" before sleep and "resumed" after).
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SdDaemon.DBus;
using SdDaemon.DBus.Hosting;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
IConfiguration config = builder.Configuration;
builder.Services.AddSdDaemon();

var state = new ExampleState();
var example = new BusInterface("org.sddaemon.Example1");
BusSignal<string> greeted = example.AddSignal<string>("Greeted", "name");
example.AddMethod<string, string>("Greet", name =>
{
    if (name.Length == 0)
    {
        throw new BusMethodException("org.sddaemon.Example1.Error.NoName", "say who to greet");
    }

    Interlocked.Increment(ref state.Greetings);
    greeted.Emit(name);
    example.NotifyPropertyChanged("Greetings");
    return $"{state.Greeting}, {name}!";
}, "name", "greeting");
example.AddProperty("Greeting", () => state.Greeting, value => state.Greeting = value);
example.AddProperty("Greetings", () => (uint)Volatile.Read(ref state.Greetings));

builder.Services.AddSdDaemonBus(options =>
{
    options.BusName = config["BusName"] ?? "org.sddaemon.Example";
    options.Bus = Enum.Parse<BusKind>(config["Bus"] ?? nameof(BusKind.System));
    options.Address = config["Address"];
    options.NameOptions = Enum.Parse<BusNameOptions>(config["NameOptions"] ?? nameof(BusNameOptions.None));
    options.Export("/org/sddaemon/Example", example);
});
builder.Services.AddSdDaemonInhibitor(options =>
{
    options.What = Enum.Parse<InhibitWhat>(config["Inhibit"] ?? nameof(InhibitWhat.Shutdown));
    options.Who = "DBusService";
    options.Why = "saving its greetings before shutdown";
});
builder.Services.AddSingleton<IPrepareForShutdownHandler>(sp => new SaveBeforeShutdown(state, config, sp.GetRequiredService<ILogger<SaveBeforeShutdown>>()));
if (config["SleepFile"] is { } sleepFile)
{
    builder.Services.AddSingleton<IPrepareForSleepHandler>(new NoteSleep(sleepFile));
}
if (int.TryParse(config["StartDelayMs"], out int startDelay))
{
    builder.Services.AddHostedService(_ => new SlowStart(TimeSpan.FromMilliseconds(startDelay)));
}

if (int.TryParse(config["ReleaseNameAfterMs"], out int releaseAfter))
{
    builder.Services.AddHostedService(sp => new ReleaseNameWhileRunning(
        sp.GetRequiredService<ISdDaemonBus>(), sp.GetRequiredService<IHostApplicationLifetime>(),
        TimeSpan.FromMilliseconds(releaseAfter), sp.GetRequiredService<ILogger<ReleaseNameWhileRunning>>()));
}

await builder.Build().RunAsync();

internal sealed class ExampleState
{
    public int Greetings;

    public string Greeting { get; set; } = "Hello";
}

/// <summary>Saves the state while the delay lock holds the shutdown back.</summary>
internal sealed partial class SaveBeforeShutdown(ExampleState state, IConfiguration config, ILogger<SaveBeforeShutdown> logger) : IPrepareForShutdownHandler
{
    public async Task PrepareForShutdownAsync(CancellationToken cancellationToken)
    {
        if (int.TryParse(config["PrepareDelayMs"], out int delay))
        {
            await Task.Delay(delay, cancellationToken);
        }

        if (config["PrepareUntilFile"] is { } until)
        {
            while (!File.Exists(until))
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        string saved = $"greetings={state.Greetings} at {DateTime.UtcNow:O}";
        if (config["PrepareFile"] is { } file)
        {
            await File.WriteAllTextAsync(file, saved, cancellationToken);
        }

        LogSaved(logger, saved);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Saved before shutdown: {Saved}")]
    private static partial void LogSaved(ILogger logger, string saved);
}

/// <summary>A start-up that takes a while (opening databases...): the name comes after it.</summary>
internal sealed class SlowStart(TimeSpan delay) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.Delay(delay, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Gives the bus name up while the process keeps running, without stopping the host:
/// under Type=dbus the manager then stops the unit (SIGTERM), which the host handles as any stop.</summary>
internal sealed partial class ReleaseNameWhileRunning(ISdDaemonBus bus, IHostApplicationLifetime lifetime, TimeSpan after, ILogger<ReleaseNameWhileRunning> logger) : BackgroundService
{
    private PosixSignalRegistration? _terminated;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(started.SetResult))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        await Task.Delay(after, stoppingToken);
        if (bus.Name is { } name)
        {
            // Beside the host's own handler (which stops the host): says when the manager's SIGTERM came.
            _terminated = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => LogTerminated(logger));
            LogReleasing(logger, name.Name);
            await name.DisposeAsync();
        }
    }

    public override void Dispose()
    {
        _terminated?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIGTERM received")]
    private static partial void LogTerminated(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Releasing the bus name {Name} while running")]
    private static partial void LogReleasing(ILogger logger, string name);
}

/// <summary>Notes the machine's sleep and resume (a real daemon would close and reopen connections).</summary>
internal sealed class NoteSleep(string file) : IPrepareForSleepHandler
{
    public Task PrepareForSleepAsync(CancellationToken cancellationToken) => File.AppendAllTextAsync(file, "prepared\n", cancellationToken);

    public Task ResumedAsync(CancellationToken cancellationToken) => File.AppendAllTextAsync(file, "resumed\n", cancellationToken);
}
