using System.Diagnostics;
using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>README's snippets, run: "Testing your own daemon without systemd" (it used a startInfo it
/// never declared).</summary>
public sealed class ReadmeSnippetTests
{
    [Fact]
    public void The_testing_snippet_receives_READY_and_STATUS_from_the_daemon_it_starts()
    {
        // README's snippet, with the test daemon in place of /opt/worker/Worker.
        using var manager = NotifyReceiver.Bind();                 // or BindAbstract()
        var startInfo = new ProcessStartInfo(TestDaemonChild.DotnetPath, [TestDaemonChild.DllPath, "notify=READY=1\\nSTATUS=serving", "wait"]);
        startInfo.Environment["NOTIFY_SOCKET"] = manager.NotifySocket;
        using var daemon = Process.Start(startInfo)!;
        NotifyMessage ready = manager.WaitFor("READY", "1", TimeSpan.FromSeconds(10));
        Console.WriteLine($"{ready.Pid}: {ready["STATUS"]}, {ready.Files.Count} fds");
        daemon.Kill();

        Assert.Equal(daemon.Id, ready.Pid);
        Assert.Equal("serving", ready["STATUS"]);
        Assert.Empty(ready.Files);
        daemon.WaitForExit();
    }
}
