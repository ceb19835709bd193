using System.Net.Sockets;

namespace SdDaemon.Varlink;

/// <summary>
/// One accepted connection: its socket, its peer, and a send bounded in time, so that a client
/// that stops reading its replies loses its connection instead of holding a method forever (V-8).
/// Calls on one connection run one after the other, in order (Varlink has no multiplexing);
/// connections run side by side.
/// </summary>
internal sealed class VarlinkConnection(Socket socket, TimeSpan sendTimeout)
{
    internal static readonly uint EffectiveUid = OperatingSystem.IsLinux() ? Interop.Libc.GetEUid() : uint.MaxValue;

    public Socket Socket { get; } = socket;

    public VarlinkPeer? Peer { get; } = VarlinkPeer.Of(socket);

    public async ValueTask SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(sendTimeout);
        try
        {
            while (!message.IsEmpty)
            {
                int sent = await Socket.SendAsync(message, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                message = message[sent..];
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new VarlinkProtocolException($"the client did not read its replies for {sendTimeout.TotalSeconds:0.###} s");
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Told apart from a method's own socket errors, which are the method's failure.
            throw new VarlinkConnectionLostException(e);
        }
    }
}

/// <summary>The client went away while a reply was being sent.</summary>
internal sealed class VarlinkConnectionLostException(Exception inner) : Exception("the client closed the connection", inner);
