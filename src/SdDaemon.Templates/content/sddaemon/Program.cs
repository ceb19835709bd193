using SdDaemonWorker;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);

// journald natively when stderr is the journal, <N>-prefixed lines under another manager's
// stderr, plain text at a terminal.
builder.Logging.ClearProviders();
builder.Logging.AddJournal();

// Under systemd: READY=1 once started, STOPPING=1, SIGTERM stops and SIGHUP reloads, the watchdog
// keep-alive when the unit has WatchdogSec=. Started by hand: nothing changes.
builder.Services.AddSdDaemon(options => options.ReadyStatus = "running");
builder.Services.AddHostedService<Worker>();

IHost host = builder.Build();
host.Run();
