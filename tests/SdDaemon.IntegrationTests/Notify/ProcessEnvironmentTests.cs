using SdDaemon.IntegrationTests.Infrastructure;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.IntegrationTests.Notify;

/// <summary>
/// The real process environment, in a process of its own (the test daemon), with SdDaemon.Testing
/// as the manager: NOTIFY_SOCKET is read from .NET's environment and unsetEnvironment keeps it
/// from children.
/// </summary>
public sealed class ProcessEnvironmentTests
{
    [Fact]
    public void N13_unsetEnvironment_sends_then_hides_NOTIFY_SOCKET_from_later_sends_and_from_children()
    {
        using NotifyReceiver receiver = NotifyReceiver.Bind();
        string childEnvironment = Path.Combine(Path.GetDirectoryName(receiver.NotifySocket)!, "child-env");
        ProcessResult result = ProcessRunner.Run(TestDaemon.DotnetPath,
            [TestDaemon.DllPath, "status=from the environment", "ready-unset", "ready", $"child-env={childEnvironment}"],
            new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = receiver.NotifySocket, ["X_MARKER"] = "kept" });

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(
            "status: sent\nready-unset: sent\nready: not listening (NOTIFY_SOCKET unset)\nchild-env: written\n",
            result.Stdout);
        using NotifyMessage status = receiver.Receive(TimeSpan.FromSeconds(5))!;
        using NotifyMessage ready = receiver.Receive(TimeSpan.FromSeconds(5))!;
        Assert.Equal("STATUS=from the environment", status.Text);
        Assert.Equal("READY=1", ready.Text);
        Assert.Equal(status.Pid, ready.Pid);
        Assert.Null(receiver.Receive(TimeSpan.FromMilliseconds(200)));

        string[] inherited = File.ReadAllLines(childEnvironment);
        Assert.DoesNotContain(inherited, l => l.StartsWith("NOTIFY_SOCKET=", StringComparison.Ordinal));
        Assert.Contains("X_MARKER=kept", inherited); // only NOTIFY_SOCKET goes
    }
}
