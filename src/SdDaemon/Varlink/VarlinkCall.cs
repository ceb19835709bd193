using System.Buffers;
using System.Net.Sockets;
using System.Text.Json;

namespace SdDaemon.Varlink;

/// <summary>
/// One method call as a method sees it: its name, flags, raw parameters and who made it. Replies are
/// sent by the <see cref="VarlinkInterface"/> methods from what the method returns or yields.
/// </summary>
public sealed class VarlinkCall
{
    private static readonly JsonElement s_noParameters = JsonDocument.Parse("{}").RootElement;

    private readonly VarlinkConnection _connection;
    private bool _finished;

    internal VarlinkCall(VarlinkConnection connection, VarlinkRequest request)
    {
        _connection = connection;
        Method = request.Method;
        Parameters = request.Parameters ?? s_noParameters;
        More = request.More;
        OneWay = request.OneWay;
    }

    /// <summary>The fully qualified method name, e.g. <c>io.systemd.service.Ping</c>.</summary>
    public string Method { get; }

    /// <summary>The call's <c>parameters</c> object (<c>{}</c> when it had none); valid during the call.</summary>
    public JsonElement Parameters { get; }

    /// <summary>The caller asked for several replies (<c>"more":true</c>).</summary>
    public bool More { get; }

    /// <summary>The caller wants no reply (<c>"oneway":true</c>): nothing is sent, errors neither.</summary>
    public bool OneWay { get; }

    /// <summary>The caller's pid, uid and gid as the kernel saw them when it connected (SO_PEERCRED);
    /// null where the socket has none (not AF_UNIX).</summary>
    public VarlinkPeer? Peer => _connection.Peer;

    /// <summary>
    /// True when the caller runs as root or as this process's effective user: what systemd asks of
    /// callers of io.systemd.service's state-changing methods.
    /// </summary>
    public bool IsPeerPrivileged => _connection.Peer is { } peer && (peer.Uid == 0 || peer.Uid == VarlinkConnection.EffectiveUid);

    /// <summary>Sends one reply (nothing for a oneway call); <paramref name="continues"/> only on a "more" call.</summary>
    internal async ValueTask ReplyAsync(Action<Utf8JsonWriter>? writeParameters, bool continues, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            throw new InvalidOperationException($"{Method}: a reply after the last one");
        }

        _finished = !continues;
        if (OneWay)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        VarlinkWire.WriteReply(buffer, writeParameters, continues && More);
        await _connection.SendAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends the error (nothing for a oneway call).</summary>
    internal async ValueTask FailAsync(VarlinkException error, CancellationToken cancellationToken)
    {
        if (_finished)
        {
            // The last reply went out already: the error can only end the connection.
            throw new VarlinkProtocolException($"{Method} failed after its last reply: {error.Message}");
        }

        _finished = true;
        if (OneWay)
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>();
        error.WriteTo(buffer);
        await _connection.SendAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    internal bool Finished => _finished;
}

/// <summary>The credentials of the process at the other end of a Varlink connection (SO_PEERCRED, socket(7)).</summary>
/// <param name="Pid">Its process id.</param>
/// <param name="Uid">Its user id.</param>
/// <param name="Gid">Its group id.</param>
public readonly record struct VarlinkPeer(int Pid, uint Uid, uint Gid)
{
    private const int SO_PEERCRED = 17;

    internal static VarlinkPeer? Of(Socket socket)
    {
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            return null;
        }

        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            if (socket.GetRawSocketOption(Interop.Libc.SOL_SOCKET, SO_PEERCRED, ucred) != ucred.Length)
            {
                return null;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed already (the server is being disposed): nobody to name.
            return null;
        }

        return new VarlinkPeer(
            BitConverter.ToInt32(ucred),
            BitConverter.ToUInt32(ucred[4..]),
            BitConverter.ToUInt32(ucred[8..]));
    }
}
