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
        int before = QuiescentFdCount();
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
        Assert.Equal(before, QuiescentFdCount());
    }

    /// <summary>The fd count once handles other tests dropped have been finalized (closed).</summary>
    private static int QuiescentFdCount()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return Fds.OpenCount();
    }
}

[CollectionDefinition(NotifyFdLeakTests.Name, DisableParallelization = true)]
public sealed class NotifyFdLeakCollection
{
}
