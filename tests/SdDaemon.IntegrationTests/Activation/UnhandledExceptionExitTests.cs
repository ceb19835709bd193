using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Activation;

/// <summary>UnhandledExceptionExit in a real process: the process-wide hook needs its own process.</summary>
public sealed class UnhandledExceptionExitTests
{
    [Fact]
    public void An_exception_on_a_worker_thread_ends_the_process_with_EX_SOFTWARE_and_crit_lines()
    {
        ProcessResult result = ProcessRunner.Run(TestDaemon.DotnetPath, [TestDaemon.DllPath, "crash-thread"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(70, result.ExitCode);
        string[] lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.StartsWith("<2>", l, StringComparison.Ordinal));
        Assert.Equal("<2>Unhandled exception, exiting with 70: System.InvalidOperationException: crash on a worker thread", lines[0]);
        Assert.DoesNotContain("still alive", result.Stdout, StringComparison.Ordinal);
    }
}
