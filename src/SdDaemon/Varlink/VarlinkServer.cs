using System.Diagnostics.CodeAnalysis;
using System.Net.Sockets;
using System.Runtime.Versioning;

namespace SdDaemon.Varlink;

/// <summary>
/// A Varlink server (<see href="https://varlink.org/">varlink.org</see>; systemd's
/// <see href="https://www.freedesktop.org/software/systemd/man/varlinkctl.html">varlinkctl(1)</see> is a
/// client): it accepts connections on stream sockets, reads NUL-terminated JSON calls and answers them
/// from the <see cref="VarlinkInterface"/>s added, plus <c>org.varlink.service</c> (GetInfo,
/// GetInterfaceDescription), which every Varlink service has.
/// </summary>
/// <remarks>
/// <para>Each connection runs on its own: its calls are answered one after the other, in order
/// (the protocol has no multiplexing; a client may pipeline), while other connections go on. A
/// message that is not a call (not JSON, not an object, no method, an unknown field), one longer
/// than <see cref="VarlinkServerOptions.MessageMax"/>, or a client that does not read its replies
/// within <see cref="VarlinkServerOptions.SendTimeout"/> closes that connection, as sd-varlink does,
/// and is reported by <see cref="Error"/>; nothing a client sends can stop the server or another
/// connection.</para>
/// <para>Unknown interfaces are answered with <c>org.varlink.service.InterfaceNotFound</c>, unknown
/// methods with <c>MethodNotFound</c>, bad parameters with <c>InvalidParameter</c>. A oneway call
/// gets no reply, not even an error.</para>
/// </remarks>
public sealed class VarlinkServer : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly HashSet<Task> _tasks = [];
    private readonly List<Socket> _listeners = [];
    private readonly HashSet<Socket> _connections = [];
    private volatile Dictionary<string, VarlinkInterface> _interfaces = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>A server with <c>org.varlink.service</c> and no listener yet.</summary>
    /// <param name="options">Its options; null for the defaults. Read when used, so set them before <see cref="Listen"/>.</param>
    public VarlinkServer(VarlinkServerOptions? options = null)
    {
        Options = options ?? new VarlinkServerOptions();
        AddInterface(VarlinkServiceInterface.Create(this));
    }

    /// <summary>The options.</summary>
    public VarlinkServerOptions Options { get; }

    /// <summary>
    /// A connection was closed because of what its client did (malformed message, message too
    /// large, replies not read), or a method failed with an exception that was no
    /// <see cref="VarlinkException"/>. Raised on the connection's task; a handler must not throw.
    /// </summary>
    public event EventHandler<VarlinkServerErrorEventArgs>? Error;

    /// <summary>The interfaces served, sorted (as GetInfo lists them).</summary>
    public IReadOnlyList<string> InterfaceNames
    {
        get
        {
            var names = new List<string>(_interfaces.Keys);
            names.Sort(StringComparer.Ordinal);
            return names;
        }
    }

    /// <summary>Serves <paramref name="definition"/> from now on, on every connection.</summary>
    /// <exception cref="ArgumentException">An interface of that name is served already.</exception>
    public void AddInterface(VarlinkInterface definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (_gate)
        {
            if (_interfaces.ContainsKey(definition.Name))
            {
                throw new ArgumentException($"the interface {definition.Name} is served already", nameof(definition));
            }

            // Copy on write: calls read the dictionary without a lock.
            _interfaces = new Dictionary<string, VarlinkInterface>(_interfaces, StringComparer.Ordinal) { [definition.Name] = definition };
        }
    }

    /// <summary>The interface called <paramref name="name"/>, when served.</summary>
    public bool TryGetInterface(string name, [MaybeNullWhen(false)] out VarlinkInterface definition) =>
        _interfaces.TryGetValue(name, out definition);

    /// <summary>
    /// Accepts connections on <paramref name="listener"/> (a listening stream socket, usually AF_UNIX:
    /// passed by the manager, see <see cref="VarlinkListener"/>) until the server is disposed, which
    /// closes it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public void Listen(Socket listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _listeners.Add(listener);
            Track(Task.Run(() => AcceptLoopAsync(listener)));
        }
    }

    /// <summary>Serves one connected stream socket (a socketpair's end, an accepted connection) until
    /// its client closes it; owns and closes it. The task never faults.</summary>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public Task ServeAsync(Socket connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _connections.Add(connection);
            return Track(Task.Run(() => ServeConnectionAsync(connection)));
        }
    }

    private Task Track(Task task)
    {
        _tasks.Add(task);
        _ = task.ContinueWith(
            done =>
            {
                lock (_gate)
                {
                    _tasks.Remove(done);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return task;
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                // EMFILE, ENOBUFS and the like pass; wait a little rather than spin.
                Report(VarlinkServerErrorKind.AcceptFailed, null, e);
                await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            lock (_gate)
            {
                if (_disposed)
                {
                    connection.Dispose();
                    return;
                }

                if (_connections.Count >= Options.ConnectionsMax)
                {
                    // Reported before the close, so that whoever sees the EOF can also see why.
                    Report(VarlinkServerErrorKind.TooManyConnections, null, new InvalidOperationException($"more than {Options.ConnectionsMax} connections; one was closed"));
                    connection.Dispose();
                    continue;
                }

                _connections.Add(connection);
                Track(Task.Run(() => ServeConnectionAsync(connection)));
            }
        }
    }

    private async Task ServeConnectionAsync(Socket socket)
    {
        var reader = new VarlinkWire.MessageReader(Options.MessageMax);
        CancellationToken stop = _stop.Token;
        try
        {
            // Inside the try: DisposeAsync may close the socket before this task first runs, and the
            // connection reads the peer's credentials from it.
            var connection = new VarlinkConnection(socket, Options.SendTimeout);
            while (true)
            {
                int received = await socket.ReceiveAsync(reader.FreeSpace(), SocketFlags.None, stop).ConfigureAwait(false);
                if (received == 0)
                {
                    if (reader.Pending > 0)
                    {
                        Report(VarlinkServerErrorKind.ProtocolError, null, new VarlinkProtocolException($"the client closed the connection in the middle of a message ({reader.Pending} bytes without a NUL)"));
                    }

                    return;
                }

                reader.Advance(received);
                while (reader.TryRead(out ReadOnlyMemory<byte> message))
                {
                    using VarlinkRequest request = VarlinkWire.ParseCall(message);
                    await DispatchAsync(connection, request, stop).ConfigureAwait(false);
                }
            }
        }
        catch (VarlinkProtocolException e)
        {
            Report(VarlinkServerErrorKind.ProtocolError, null, e);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or VarlinkConnectionLostException)
        {
            // The server stops, or the client went away: nothing to report.
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(socket);
            }

            socket.Dispose();
        }
    }

    private async Task DispatchAsync(VarlinkConnection connection, VarlinkRequest request, CancellationToken stop)
    {
        var call = new VarlinkCall(connection, request);
        try
        {
            await Resolve(request.Method)(call, stop).ConfigureAwait(false);
            if (!call.Finished)
            {
                throw new InvalidOperationException($"{request.Method} returned without its last reply");
            }
        }
        catch (VarlinkException e)
        {
            await call.FailAsync(e, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (VarlinkProtocolException or VarlinkConnectionLostException)
            && !(e is OperationCanceledException && stop.IsCancellationRequested))
        {
            // Any other failure is the method's, a socket error of its own included.
            Report(VarlinkServerErrorKind.MethodFailed, request.Method, e);
            await call.FailAsync(VarlinkException.System(Interop.Errno.EIO, "EIO"), stop).ConfigureAwait(false);
        }
    }

    private Func<VarlinkCall, CancellationToken, ValueTask> Resolve(string qualified)
    {
        int dot = qualified.LastIndexOf('.');
        if (dot <= 0)
        {
            throw VarlinkException.MethodNotFound(qualified);
        }

        string name = qualified[..dot];
        if (!_interfaces.TryGetValue(name, out VarlinkInterface? definition))
        {
            throw VarlinkException.InterfaceNotFound(name);
        }

        return definition.TryGetMethod(qualified[(dot + 1)..], out Func<VarlinkCall, CancellationToken, ValueTask>? method)
            ? method
            : throw VarlinkException.MethodNotFound(qualified);
    }

    private void Report(VarlinkServerErrorKind kind, string? method, Exception exception)
    {
        try
        {
            Error?.Invoke(this, new VarlinkServerErrorEventArgs(kind, method, exception));
        }
        catch (Exception)
        {
            // A handler's own failure must not take a connection's task down with it.
        }
    }

    /// <summary>Stops accepting, cancels the methods running, closes every connection and waits for
    /// their tasks.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] tasks;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stop.Cancel();
            foreach (Socket listener in _listeners)
            {
                listener.Dispose();
            }

            foreach (Socket connection in _connections)
            {
                connection.Dispose();
            }

            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        _stop.Dispose();
    }
}

/// <summary>What <see cref="VarlinkServer.Error"/> reports.</summary>
public enum VarlinkServerErrorKind
{
    /// <summary>A client broke the protocol (malformed or oversized message, replies not read); its connection was closed.</summary>
    ProtocolError,

    /// <summary>A method threw an exception that was no <see cref="VarlinkException"/>; the call got <c>io.systemd.System</c>.</summary>
    MethodFailed,

    /// <summary>accept(2) failed; the server goes on accepting.</summary>
    AcceptFailed,

    /// <summary>A connection beyond <see cref="VarlinkServerOptions.ConnectionsMax"/> was closed.</summary>
    TooManyConnections,
}

/// <summary>One problem <see cref="VarlinkServer.Error"/> reports.</summary>
/// <param name="kind">What happened.</param>
/// <param name="method">The method called, for <see cref="VarlinkServerErrorKind.MethodFailed"/>.</param>
/// <param name="exception">The details.</param>
public sealed class VarlinkServerErrorEventArgs(VarlinkServerErrorKind kind, string? method, Exception exception) : EventArgs
{
    /// <summary>What happened.</summary>
    public VarlinkServerErrorKind Kind { get; } = kind;

    /// <summary>The method called, when a method failed.</summary>
    public string? Method { get; } = method;

    /// <summary>The details; its message says what the client did wrong.</summary>
    public Exception Exception { get; } = exception;
}
