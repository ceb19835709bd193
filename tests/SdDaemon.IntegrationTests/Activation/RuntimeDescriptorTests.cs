using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>
/// Spec L-10 in a process of its own (the fault is process-wide): a LISTEN_FDS larger than what was
/// passed must not hand out the descriptors the .NET runtime opened before Main (pipes, the W^X
/// double-mapping memfd, assembly files). Closing those kills the process.
/// </summary>
public sealed class RuntimeDescriptorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sdd-runtime-fds-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// Runs the test daemon as a manager would start it with one passed descriptor (fd 3, /dev/null,
    /// inherited across exec without CLOEXEC) and LISTEN_PID naming it; <paramref name="listenFds"/>
    /// null lets the daemon claim every consecutive open number from 3 on (step listen-fds-cover).
    /// </summary>
    private (ProcessResult Run, string[] Report) RunDaemon(string? listenFds)
    {
        string report = Path.Combine(_directory, "report");
        string[] steps = listenFds is null
            ? ["listen-fds-cover", $"activation={report}", "activation-dispose"]
            : [$"activation={report}", "activation-dispose"];
        ProcessResult run = ProcessRunner.Run(
            "/bin/sh",
            ["-c", "exec 3</dev/null; export LISTEN_PID=$$; exec \"$0\" \"$@\"", .. TestDaemon.Command(steps)],
            new Dictionary<string, string?>
            {
                ["LISTEN_FDS"] = listenFds ?? "1",
                ["LISTEN_FDNAMES"] = null,
                ["LISTEN_PIDFDID"] = null,
                ["NOTIFY_SOCKET"] = null,
            });
        return (run, File.Exists(report) ? File.ReadAllLines(report) : []);
    }

    [Fact]
    public void L10_LISTEN_FDS_30_with_one_passed_fd_is_EBADF_at_fd_4_and_disposing_the_result_keeps_the_process_alive()
    {
        (ProcessResult run, string[] report) = RunDaemon("30");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr} {run.Stdout}");
        Assert.Equal("outcome=Failed errno=9 count=0", report[0]);
        Assert.Contains("activation: failed: fd 4 (of LISTEN_FDS=30) holds no descriptor passed to this process", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("activation-dispose: survived matched=True", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void L10_LISTEN_FDS_covering_every_runtime_descriptor_is_EBADF_and_disposing_the_result_keeps_the_process_alive()
    {
        // Every number from 3 to the count is open here, so "not open" cannot be what refuses them:
        // before L-10 this result was Activated with the runtime's descriptors, and its Dispose killed
        // the process (SIGABRT "Failed to create RW mapping for RX memory", or SIGSEGV).
        (ProcessResult run, string[] report) = RunDaemon(null);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.Stderr} {run.Stdout}");
        string covered = run.Stdout.Split('\n').Single(l => l.StartsWith("listen-fds-cover: ", StringComparison.Ordinal));
        Assert.True(int.Parse(covered["listen-fds-cover: ".Length..], System.Globalization.CultureInfo.InvariantCulture) >= 2, covered);
        Assert.Equal("outcome=Failed errno=9 count=0", report[0]);
        Assert.Contains("activation: failed: fd 4 ", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("activation-dispose: survived matched=True", run.Stdout, StringComparison.Ordinal);
    }
}
