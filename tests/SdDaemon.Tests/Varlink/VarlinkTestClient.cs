using System.Net.Sockets;
using System.Text;

namespace SdDaemon.Tests.Varlink;

/// <summary>A raw client: sends bytes as given, reads NUL-terminated messages or the end, bounded in time.</summary>
internal sealed class VarlinkTestClient : IDisposable
{
    private readonly Socket _socket;
    private readonly List<byte> _pending = [];

    public VarlinkTestClient(string path)
    {
        _socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _socket.Connect(new UnixDomainSocketEndPoint(path));
        _socket.ReceiveTimeout = 10_000;
    }

    public void Send(string text) => _socket.Send(Encoding.UTF8.GetBytes(text));

    public void Send(byte[] bytes) => _socket.Send(bytes);

    /// <summary>The next message with its NUL, or null at the end of the stream.</summary>
    public string? Receive()
    {
        var buffer = new byte[65536];
        while (true)
        {
            int nul = _pending.IndexOf(0);
            if (nul >= 0)
            {
                string message = Encoding.UTF8.GetString(_pending.GetRange(0, nul + 1).ToArray());
                _pending.RemoveRange(0, nul + 1);
                return message;
            }

            int received;
            try
            {
                received = _socket.Receive(buffer);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // The server closed with bytes of ours unread: the kernel resets instead of ending.
                return null;
            }

            if (received == 0)
            {
                return null;
            }

            _pending.AddRange(buffer.AsSpan(0, received).ToArray());
        }
    }

    /// <summary>True when nothing arrives within <paramref name="milliseconds"/>.</summary>
    public bool IsQuiet(int milliseconds) => _pending.Count == 0 && !_socket.Poll(milliseconds * 1000, SelectMode.SelectRead);

    public string Call(string call)
    {
        Send(call + "\0");
        return Receive() ?? "<end of stream>";
    }

    public void Dispose() => _socket.Dispose();
}
