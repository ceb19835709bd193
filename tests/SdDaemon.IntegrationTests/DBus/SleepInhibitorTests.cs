using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipes;
using SdDaemon.DBus;
using SdDaemon.IntegrationTests.Infrastructure;
using Tmds.DBus.Protocol;
using Xunit;

namespace SdDaemon.IntegrationTests.DBus;

/// <summary>
/// The host's sleep path (DB-7, DB-8): PrepareForSleep(true) runs the sleep handlers, then the
/// delay lock is released; PrepareForSleep(false) takes it again, then ResumedAsync runs. No real
/// logind can sleep in a container (docs/dbus.md says what was tried), so logind is played by the
/// test on a real dbus-daemon: it owns org.freedesktop.login1, answers Inhibit(ssss) with the
/// write end of a pipe (a release is the end of file on the read end, as logind sees it) and
/// InhibitDelayMaxUSec, and emits the signals. examples/DBusService is the daemon, with this bus
/// as its system bus.
/// </summary>
public sealed class SleepInhibitorTests(SessionBus bus) : IClassFixture<SessionBus>
{
    [SessionBusFact]
    public async Task PrepareForSleep_runs_the_handler_then_releases_the_lock_and_resume_takes_it_again()
    {
        bus.EnsureRunning();
        using DBusConnection logindConnection = await DaemonBus.ConnectAsync(bus.SocketAddress);
        var logind = new FakeLogind();
        logindConnection.AddMethodHandler(logind);
        await using BusName logindName = await BusName.AcquireAsync(logindConnection, LoginManager.ServiceName);

        string work = Directory.CreateTempSubdirectory("sdd-sleep-").FullName;
        string sleepFile = Path.Combine(work, "sleep");
        var info = new ProcessStartInfo(TestDaemon.DotnetPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { Pid1DBusTests.ExampleDll, "--BusName", $"org.sddaemon.T{Guid.NewGuid():N}", "--Inhibit", "Shutdown, Sleep", "--SleepFile", sleepFile })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DBUS_SYSTEM_BUS_ADDRESS"] = bus.SocketAddress;
        info.Environment["DOTNET_SYSTEM_GLOBALIZATION_INVARIANT"] = "1";
        info.Environment.Remove("NOTIFY_SOCKET");
        using Process daemon = Process.Start(info)!;
        var output = new ConcurrentQueue<string>();
        daemon.OutputDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        daemon.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        daemon.BeginOutputReadLine();
        daemon.BeginErrorReadLine();
        try
        {
            Lock first = await logind.Locks.Take().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(("shutdown:sleep", "DBusService", "saving its greetings before shutdown", "delay"), (first.What, first.Who, first.Why, first.Mode));
            Assert.False(first.Released.IsCompleted);
            Assert.False(File.Exists(sleepFile));

            logind.Emit(logindConnection, "PrepareForSleep", true);
            await first.Released.WaitAsync(TimeSpan.FromSeconds(30));
            // The handler ran before the lock went; nothing was taken again while "asleep".
            Assert.Equal("prepared\n", File.ReadAllText(sleepFile));
            Assert.Equal(0, logind.Locks.Count);

            logind.Emit(logindConnection, "PrepareForSleep", false);
            Lock second = await logind.Locks.Take().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal("delay", second.Mode);
            Assert.True(SpinWait.SpinUntil(() => File.ReadAllText(sleepFile) == "prepared\nresumed\n", TimeSpan.FromSeconds(30)), File.ReadAllText(sleepFile));
            Assert.False(second.Released.IsCompleted);

            // Stopping releases the lock taken after resume.
            daemon.Kill(entireProcessTree: false); // SIGKILL: the kernel closes the fd, logind sees EOF
            await second.Released.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception e) when (e is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message}\ndaemon output:\n{string.Join('\n', output)}");
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill();
            }

            daemon.WaitForExit(10_000);
            Directory.Delete(work, recursive: true);
        }
    }

    [SessionBusFact]
    public async Task InhibitDelayMaxSec_infinity_is_an_infinite_TimeSpan_not_an_OverflowException()
    {
        bus.EnsureRunning();
        using DBusConnection logindConnection = await DaemonBus.ConnectAsync(bus.SocketAddress);
        logindConnection.AddMethodHandler(new FakeLogind(delayMaxUsec: ulong.MaxValue)); // USEC_INFINITY
        await using BusName logindName = await BusName.AcquireAsync(logindConnection, LoginManager.ServiceName);
        using DBusConnection client = await DaemonBus.ConnectAsync(bus.SocketAddress);
        using LoginManager logind = await LoginManager.ConnectAsync(client);

        Assert.Equal(Timeout.InfiniteTimeSpan, await logind.GetInhibitDelayMaxAsync());
    }

    private sealed record Lock(string What, string Who, string Why, string Mode, Task Released);

    /// <summary>org.freedesktop.login1.Manager as far as the inhibitor service uses it.</summary>
    private sealed class FakeLogind(ulong delayMaxUsec = 5_000_000) : IPathMethodHandler
    {
        public BlockingTaskQueue<Lock> Locks { get; } = new();

        public string Path => "/org/freedesktop/login1";

        public bool HandlesChildPaths => false;

        public ValueTask HandleMethodAsync(MethodContext context)
        {
            Message request = context.Request;
            string member = request.MemberAsString ?? "";
            Reader reader = request.GetBodyReader();
            if (request.InterfaceAsString == "org.freedesktop.login1.Manager" && member == "Inhibit")
            {
                (string what, string who, string why, string mode) = (reader.ReadString(), reader.ReadString(), reader.ReadString(), reader.ReadString());
                var pipe = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.None);
                Task released = Task.Run(() =>
                {
                    using (pipe)
                    {
                        return pipe.Read(new byte[1]) == 0 ? 0 : throw new InvalidOperationException("data on an inhibitor fd");
                    }
                });
                using MessageWriter writer = context.CreateReplyWriter("h");
                writer.WriteHandle(pipe.ClientSafePipeHandle);
                context.Reply(writer.CreateMessage());
                // Our copy of the write end goes once the reply is out (SafeHandle keeps it open
                // while the connection still holds a reference); only the daemon's copy remains.
                pipe.DisposeLocalCopyOfClientHandle();
                Locks.Add(new Lock(what, who, why, mode, released));
            }
            else if (request.InterfaceAsString == "org.freedesktop.DBus.Properties" && member == "Get")
            {
                _ = reader.ReadString();
                string property = reader.ReadString();
                using MessageWriter writer = context.CreateReplyWriter("v");
                writer.WriteVariant(property == "InhibitDelayMaxUSec" ? VariantValue.UInt64(delayMaxUsec) : VariantValue.String(""));
                context.Reply(writer.CreateMessage());
            }
            else
            {
                context.ReplyError("org.freedesktop.DBus.Error.UnknownMethod", member);
            }

            return ValueTask.CompletedTask;
        }

        public void Emit(DBusConnection connection, string signal, bool value)
        {
            using MessageWriter writer = connection.GetMessageWriter();
            writer.WriteSignalHeader(destination: null, path: Path, @interface: "org.freedesktop.login1.Manager", member: signal, signature: "b");
            writer.WriteBool(value);
            Assert.True(connection.TrySendMessage(writer.CreateMessage()));
        }
    }

    /// <summary>Items as they come, awaited one at a time.</summary>
    private sealed class BlockingTaskQueue<T>
    {
        private readonly System.Threading.Channels.Channel<T> _channel = System.Threading.Channels.Channel.CreateUnbounded<T>();

        public int Count => _channel.Reader.Count;

        public void Add(T item) => _channel.Writer.TryWrite(item);

        public Task<T> Take() => _channel.Reader.ReadAsync().AsTask();
    }
}
