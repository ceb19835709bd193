// What README's C# snippets take as given: the variables and helpers that surround them in a real
// program (a listener, a child process, a builder...). Each snippet is compiled as Program.cs
// beside this file, with `using static ReadmeContext;`, in a plain Web SDK project referencing the
// packed packages, with warnings as errors. A new snippet that needs a new name: add it here.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Diagnostics.HealthChecks;

#pragma warning disable CA2211, CA1707, IDE1006 // the names are the snippets' local variables

public static class ReadmeContext
{
    public static Socket listener = null!;
    public static Process child = null!;
    public static WorkQueue queue = new();
    public static ProcessStartInfo startInfo = new("mydaemon");
    public static WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
    public static ILogger logger = null!;
    public static string idlText = "interface org.example.ftl\nmethod Add(a: int, b: int) -> (sum: int)\n";

    public static Socket BindAndStore() => throw new NotSupportedException();

    public static Socket BindLoopback8080() => throw new NotSupportedException();
}

public sealed class WorkQueue
{
    public bool IsMoving => true;
}

public sealed class QueueHealth : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy());
}

public sealed record AddIn(int A, int B);

public sealed record AddOut(int Sum);

[JsonSerializable(typeof(AddIn))]
[JsonSerializable(typeof(AddOut))]
internal sealed partial class Json : JsonSerializerContext;
