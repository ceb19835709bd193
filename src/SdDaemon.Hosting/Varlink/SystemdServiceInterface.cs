using System.Collections;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Varlink;

namespace SdDaemon.Hosting.Varlink;

/// <summary>
/// systemd's generic service control interface, <c>io.systemd.service</c>, served by the host (V-10):
/// Ping; Reload (the same path as SIGHUP: RELOADING=1 + MONOTONIC_USEC ... READY=1); SetLogLevel and
/// GetLogLevel (syslog levels 0-7, applied to every logger at once, null restores the configured
/// level); GetEnvironment (the process environment). Reload, SetLogLevel and GetEnvironment answer
/// PermissionDenied to callers that are neither root nor this service's user, as systemd's do.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal static partial class SystemdServiceInterface
{
    public const string Name = "io.systemd.service";

    /// <summary>The definition as systemd 262 serves it for its own services.</summary>
    public const string Description = """
        # An interface to control basic properties of systemd services.
        interface io.systemd.service

        # Checks if the service is running.
        method Ping() -> ()

        # Reloads configuration files.
        method Reload(
        	# Controls whether interactive authentication (via polkit) shall be allowed. If unspecified defaults to false.
        	allowInteractiveAuthentication: ?bool
        ) -> ()

        # Sets the maximum log level.
        method SetLogLevel(
        	# The maximum log level, using BSD syslog log level integers.
        	level: ?int
        ) -> ()

        # Gets the maximum log level.
        method GetLogLevel() -> (
        	# The current maximum log level, using BSD syslog level integers.
        	level: int
        )

        # Get current environment block.
        method GetEnvironment() -> (
        	# Returns the current environment block, i.e. the contents of environ[].
        	environment: ?[]string
        )

        # Returned if the environment block is currently not in a valid state.
        error InconsistentEnvironment()

        """;

    public static VarlinkInterface Create(ServiceReloader reloader, LogLevelOverride logLevel, IOptionsMonitor<LoggerFilterOptions> filters, ILogger logger) =>
        new VarlinkInterface(Name, Description)
            .AddMethod("Ping", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => VarlinkEmpty.Completed)
            .AddMethod("Reload", ServiceJson.Default.ReloadParameters, VarlinkEmpty.TypeInfo, async (_, call, cancellationToken) =>
            {
                RequirePrivileged(call);
                // A failed reload is reported as systemd reports it: READY=1 with the STATUS=, and the
                // call still completes, because the service runs on with its old configuration.
                await reloader.ReloadAsync(cancellationToken).ConfigureAwait(false);
                return VarlinkEmpty.Instance;
            })
            .AddMethod("SetLogLevel", ServiceJson.Default.SetLogLevelParameters, VarlinkEmpty.TypeInfo, (parameters, call, _) =>
            {
                RequirePrivileged(call);
                if (parameters.Level is { } level and (< 0 or > 7))
                {
                    throw VarlinkException.InvalidParameter("level");
                }

                LogLevel? minimum = parameters.Level is { } value ? LogLevelOverride.FromSyslog(value) : null;
                logLevel.Set(minimum);
                LogLevelSet(logger, parameters.Level, filters.CurrentValue.MinLevel);
                return VarlinkEmpty.Completed;
            })
            .AddMethod("GetLogLevel", VarlinkEmpty.TypeInfo, ServiceJson.Default.GetLogLevelReply, (_, _, _) =>
                ValueTask.FromResult(new GetLogLevelReply(LogLevelOverride.ToSyslog(filters.CurrentValue.MinLevel))))
            .AddMethod("GetEnvironment", VarlinkEmpty.TypeInfo, ServiceJson.Default.GetEnvironmentReply, (_, call, _) =>
            {
                RequirePrivileged(call);
                return ValueTask.FromResult(new GetEnvironmentReply(Environment()));
            });

    /// <summary>The .NET process environment (what Process.Start children inherit) as NAME=value, sorted.</summary>
    private static List<string> Environment()
    {
        var entries = new List<string>();
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            entries.Add($"{entry.Key}={entry.Value}");
        }

        entries.Sort(StringComparer.Ordinal);
        return entries;
    }

    private static void RequirePrivileged(VarlinkCall call)
    {
        if (!call.IsPeerPrivileged)
        {
            throw VarlinkException.PermissionDenied();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Log level set over Varlink to {Level} (null: the configured one); minimum now {Minimum}")]
    private static partial void LogLevelSet(ILogger logger, int? level, LogLevel minimum);
}

internal sealed class ReloadParameters
{
    [JsonPropertyName("allowInteractiveAuthentication")]
    public bool? AllowInteractiveAuthentication { get; init; }
}

internal sealed class SetLogLevelParameters
{
    [JsonPropertyName("level")]
    public int? Level { get; init; }
}

internal sealed record GetLogLevelReply([property: JsonPropertyName("level")] int Level);

internal sealed record GetEnvironmentReply([property: JsonPropertyName("environment")] IReadOnlyList<string> Environment);

[JsonSerializable(typeof(ReloadParameters))]
[JsonSerializable(typeof(SetLogLevelParameters))]
[JsonSerializable(typeof(GetLogLevelReply))]
[JsonSerializable(typeof(GetEnvironmentReply))]
internal sealed partial class ServiceJson : JsonSerializerContext;
