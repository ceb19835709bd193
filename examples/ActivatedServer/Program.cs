// ActivatedServer: a tiny TCP server that runs three ways, with the same binary.
//   1. Socket-activated (activated-server.socket): the manager owns the listening socket and passes
//      it as LISTEN_FDS with the name "web".
//   2. Without a socket unit (activated-server-standalone.service, FileDescriptorStoreMax=1): the
//      first start binds the socket itself and hands a copy to the manager's fd store (FDSTORE=1,
//      FDNAME=listener); every restart gets it back as LISTEN_FDS with the name "listener". The
//      socket never closes, so connections made during a restart wait in its backlog: none is refused.
//   3. By hand (no manager): it just binds.
// Usage: ActivatedServer [--port N] (default 8090; ignored when a socket is passed)
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SdDaemon;

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("<3>ActivatedServer runs on Linux only.");
    return (int)LsbExitCode.NotImplemented;
}

// An unhandled exception anywhere ends the process with a <2> line and EX_SOFTWARE (70).
UnhandledExceptionExit.Install();

int port = 8090;
for (int i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--port" && !int.TryParse(args[i + 1], out port))
    {
        Console.Error.WriteLine($"<3>--port takes a number, not '{args[i + 1]}'");
        return (int)SysExitCode.Usage;
    }
}

using ListenFdsResult passed = ListenFds.Get(unsetEnvironment: true);
if (passed.IsFailed)
{
    Console.Error.WriteLine($"<3>socket activation: {passed.ErrorMessage}");
    return (int)SysExitCode.Config;
}

Socket listener;
string origin;
if (passed.First("web") is { } web)
{
    listener = web.ToSocket();
    origin = "socket unit";
}
else if (passed.First("listener") is { } stored)
{
    listener = stored.ToSocket();
    origin = "fd store";
}
else
{
    listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
    listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
    listener.Listen(512);
    origin = "bound";

    // Keep a copy in the manager's fd store (only does anything with FileDescriptorStoreMax>0).
    NotifyResult storedResult = new Notification(NotifyState.FdStore, NotifyState.FdName("listener")) { Files = [listener.SafeHandle] }.Send();
    Console.Error.WriteLine($"<6>stored the listener in the fd store: {storedResult}");
}

Console.Error.WriteLine($"<6>listening on {listener.LocalEndPoint} ({origin}), pid {Environment.ProcessId}");
using WatchdogKeepAlive? keepAlive = Watchdog.StartKeepAliveIfEnabled();
new Notification(NotifyState.Ready, NotifyState.Status($"serving on {listener.LocalEndPoint} ({origin})")).Send();

using var stopping = new CancellationTokenSource();
using PosixSignalRegistration term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stopping.Cancel();
});

byte[] greeting = Encoding.ASCII.GetBytes($"hello from ActivatedServer {Environment.ProcessId} ({origin})\n");
try
{
    while (true)
    {
        using Socket connection = await listener.AcceptAsync(stopping.Token);
        try
        {
            await connection.SendAsync(greeting);
            connection.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException e)
        {
            Console.Error.WriteLine($"<4>a client went away: {e.SocketErrorCode}");
        }
    }
}
catch (OperationCanceledException)
{
    // SIGTERM: stop accepting. The listening socket lives on in the manager (socket unit or fd
    // store), so connections arriving now wait in its backlog for the next instance.
}

Notification.Stopping.Send();
return (int)LsbExitCode.Success;
