// A generic-host worker that systemd and varlinkctl can talk to over Varlink:
//   io.systemd.service (from SdDaemon.Hosting): Ping, Reload (the SIGHUP path), SetLogLevel/GetLogLevel,
//   GetEnvironment
//   org.sddaemon.example.Echo (its own interface, typed with source-generated JSON):
//     Echo(text) -> (text)   logs "echo: TEXT" at Debug, so SetLogLevel 7 makes it reach the journal
//     Count(upTo) -> (n)     one reply per number: call it with --more
// The socket comes from varlink-daemon.socket (FileDescriptorName=varlink), or, started alone, is
// bound in RuntimeDirectory= and linked in /run/varlink/registry.
//   varlinkctl info /run/varlink/registry/org.sddaemon.example.Echo
//   varlinkctl call /run/varlink/registry/org.sddaemon.example.Echo io.systemd.service.SetLogLevel '{"level":7}'
//   varlinkctl call --more /run/varlink/registry/org.sddaemon.example.Echo org.sddaemon.example.Echo.Count '{"upTo":3}'
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SdDaemon.Hosting;
using SdDaemon.Varlink;

HostApplicationBuilder builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Information);
builder.Services.AddSdDaemon(options => options.ReadyStatus = "serving Varlink");
builder.Services.AddSdDaemonVarlink(options =>
{
    options.Server.Vendor = "SdDaemon examples";
    options.Server.Url = "https://github.com/sddaemon/sddaemon";
});
builder.Services.AddSingleton<IReloadHandler, ReloadLogger>();
builder.Services.AddSingleton(services => EchoInterface.Create(services.GetRequiredService<ILogger<EchoInterface>>()));
await builder.Build().RunAsync();

/// <summary>org.sddaemon.example.Echo: the application's own interface.</summary>
internal sealed partial class EchoInterface
{
    public const string Description = """
        # The example's own interface.
        interface org.sddaemon.example.Echo

        # Returns the text; logs it at debug level.
        method Echo(text: string) -> (text: string)

        # Replies once for each number from 1 to upTo (call with more).
        method Count(upTo: int) -> (n: int)

        """;

    public static VarlinkInterface Create(ILogger<EchoInterface> logger) =>
        new VarlinkInterface("org.sddaemon.example.Echo", Description)
            .AddMethod("Echo", EchoJson.Default.EchoText, EchoJson.Default.EchoText, (parameters, _, _) =>
            {
                LogEcho(logger, parameters.Text);
                return ValueTask.FromResult(parameters);
            })
            .AddStreamingMethod("Count", EchoJson.Default.CountParameters, EchoJson.Default.CountReply, (parameters, _, cancellationToken) => Count(parameters.UpTo, cancellationToken));

    private static async IAsyncEnumerable<CountReply> Count(int upTo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int n = 1; n <= upTo; n++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new CountReply(n);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "echo: {Text}")]
    private static partial void LogEcho(ILogger logger, string text);
}

internal sealed class ReloadLogger(ILogger<ReloadLogger> logger) : IReloadHandler
{
    public Task ReloadAsync(CancellationToken cancellationToken)
    {
        logger.LogInformation("reload handler ran");
        return Task.CompletedTask;
    }
}

internal sealed record EchoText([property: JsonPropertyName("text")] string Text);

internal sealed record CountParameters([property: JsonPropertyName("upTo")] int UpTo);

internal sealed record CountReply([property: JsonPropertyName("n")] int N);

[JsonSerializable(typeof(EchoText))]
[JsonSerializable(typeof(CountParameters))]
[JsonSerializable(typeof(CountReply))]
internal sealed partial class EchoJson : JsonSerializerContext;
