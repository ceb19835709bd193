using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Notify;

/// <summary>Counts this process's open fds, so it runs alone: other test classes open fds too.</summary>
[Collection(Name)]
public sealed class NotifyFdLeakTests
{
    public const string Name = "fd count (not parallel)";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public void The_open_fd_count_is_the_same_after_100000_sends()
    {
        using NotifyReceiver receiver = NotifyReceiver.Bind();
        using var channel = new NotifyChannel(new FakeEnvironment((EnvironmentVariables.NotifySocket, receiver.NotifySocket)), null);
        Assert.True(channel.Send(Notification.Watchdog).IsSent); // the one cached socket
        receiver.Receive(Wait)!.Dispose();
        Dictionary<string, string> before = QuiescentFds();
        using var done = new CancellationTokenSource();
        int count = 0;
        var reader = new Thread(() =>
        {
            while (count < 100_000 && !done.IsCancellationRequested)
            {
                if (receiver.Receive(TimeSpan.FromMilliseconds(100)) is not null)
                {
                    count++;
                }
            }
        });
        reader.Start();
        for (int i = 0; i < 100_000; i++)
        {
            Assert.True(channel.Send(Notification.Watchdog).IsSent);
        }

        Assert.True(reader.Join(TimeSpan.FromSeconds(60)));
        Assert.Equal(100_000, count);
        Dictionary<string, string> after = QuiescentFds();
        Assert.True(before.Count == after.Count, $"{before.Count} fds before, {after.Count} after; opened: {Describe(after, before)}; closed: {Describe(before, after)}");
    }

    /// <summary>The open fds (number: target) once handles other tests dropped have been finalized
    /// (closed), without the assemblies and native libraries the runtime holds open once it loads them:
    /// a load can happen at any moment (a run saw Microsoft.Win32.Registry.dll opened twice during the
    /// sends), and no send opens a file.</summary>
    private static Dictionary<string, string> QuiescentFds()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        var fds = new Dictionary<string, string>();
        foreach (string fd in Directory.GetFiles("/proc/self/fd"))
        {
            string target = new FileInfo(fd).LinkTarget ?? "(gone)";
            if (!target.EndsWith(".dll", StringComparison.Ordinal) && !target.EndsWith(".so", StringComparison.Ordinal))
            {
                fds[Path.GetFileName(fd)] = target;
            }
        }

        return fds;
    }

    private static string Describe(Dictionary<string, string> these, Dictionary<string, string> notIn) =>
        string.Join(", ", these.Where(fd => !notIn.TryGetValue(fd.Key, out string? target) || target != fd.Value).Select(fd => $"{fd.Key}={fd.Value}"));
}

[CollectionDefinition(NotifyFdLeakTests.Name, DisableParallelization = true)]
public sealed class NotifyFdLeakCollection
{
}
