using Tmds.DBus.Protocol;

namespace SdDaemon.DBus;

/// <summary>A <see cref="BusInterface"/> on one path of one connection: Tmds.DBus.Protocol's handler for that path.</summary>
internal sealed class Exported(BusInterface owner, DBusConnection connection, string path, byte[] introspection) : IPathMethodHandler, IDisposable
{
    private int _disposed;

    public DBusConnection Connection { get; } = connection;

    public string Path { get; } = path;

    public bool HandlesChildPaths => false;

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (context.IsDBusIntrospectRequest)
        {
            // Tmds.DBus.Protocol adds Introspectable and Peer itself, not Properties.
            ReadOnlyMemory<byte>[] interfaces = [introspection, IntrospectionXml.DBusProperties];
            context.ReplyIntrospectXml(interfaces, ReadOnlySpan<string>.Empty);
        }
        else
        {
            owner.Dispatch(context);
        }

        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Connection.RemoveMethodHandler(Path);
        }
    }
}
