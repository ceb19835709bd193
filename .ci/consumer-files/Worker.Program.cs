// What README's install section tells a user to write in a fresh `dotnet new worker`.
using SdDaemonConsumer;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddJournal();
builder.Services.AddSdDaemon(o => o.ReadyStatus = "consumer ready");
builder.Services.AddHostedService<Worker>();

IHost host = builder.Build();
host.Run();
