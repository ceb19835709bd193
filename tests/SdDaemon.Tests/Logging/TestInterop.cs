using Xunit;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Tests.Logging;

/// <summary>The test side's own libc calls; the rest come from the library's Libc (visible to the
/// tests). fstat(2) stays its own: it is the oracle for JournalStreamCheck, which uses statx.</summary>
internal static unsafe class TestLibc
{
    public const int F_GET_SEALS = 1034;

    [DllImport("libc", EntryPoint = "fstat", SetLastError = true)]
    public static extern int FStat(int fd, byte* statBuffer);

    /// <summary>st_dev and st_ino from fstat(2): both at offsets 0 and 8 in the x86_64 and the
    /// generic (arm64) struct stat, which is why the test may read them this way.</summary>
    public static (ulong Device, ulong Inode) DeviceAndInode(int fd)
    {
        byte* buffer = stackalloc byte[256];
        if (FStat(fd, buffer) != 0)
        {
            throw new InvalidOperationException($"fstat failed: {Marshal.GetLastPInvokeError()}");
        }

        return (*(ulong*)buffer, *(ulong*)(buffer + 8));
    }
}

/// <summary>A bound AF_UNIX datagram socket that plays journald: receives datagrams, and the
/// memfd of an entry passed by descriptor.</summary>
internal sealed unsafe class JournalReceiver : IDisposable
{
    private readonly Socket _socket;
    private readonly string _directory;

    public JournalReceiver(string? socketPath = null)
    {
        _directory = Directory.CreateTempSubdirectory("sdd-journal-").FullName;
        SocketPath = socketPath ?? Path.Combine(_directory, "socket");
        File.Delete(SocketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _socket.ReceiveBufferSize = 4 * 1024 * 1024;
        _socket.ReceiveTimeout = 5000;
    }

    public string SocketPath { get; }

    public sealed record Datagram(byte[] Data, int[] Fds, byte[]? MemfdContent, int Seals);

    public Datagram Receive()
    {
        if (!_socket.Poll(TimeSpan.FromSeconds(5), SelectMode.SelectRead))
        {
            throw new TimeoutException("no datagram");
        }

        byte[] data = new byte[8 * 1024 * 1024];
        byte* control = stackalloc byte[256];
        fixed (byte* bytes = data)
        {
            Libc.IoVec iov = new() { Base = bytes, Length = (nuint)data.Length };
            Libc.MsgHdr message = new() { Iov = &iov, IovLength = 1, Control = control, ControlLength = 256 };
            nint n = Libc.RecvMsg((int)_socket.Handle, &message, 0x40000000 /* MSG_CMSG_CLOEXEC */);
            if (n < 0)
            {
                throw new InvalidOperationException($"recvmsg failed: {Marshal.GetLastPInvokeError()}");
            }

            var fds = new List<int>();
            int offset = 0;
            while (offset + 16 <= (int)message.ControlLength)
            {
                ulong length = *(ulong*)(control + offset);
                int level = *(int*)(control + offset + 8);
                int type = *(int*)(control + offset + 12);
                if (level == 1 && type == 1)
                {
                    for (int p = 16; p < (int)length; p += 4)
                    {
                        fds.Add(*(int*)(control + offset + p));
                    }
                }

                offset += (int)((length + 7) & ~7UL);
            }

            byte[]? content = null;
            int seals = -1;
            if (fds.Count == 1)
            {
                seals = Libc.Fcntl(fds[0], TestLibc.F_GET_SEALS, 0);
                var all = new MemoryStream();
                byte[] chunk = new byte[1 << 16];
                long position = 0;
                fixed (byte* c = chunk)
                {
                    while (true)
                    {
                        nint r = Libc.PRead(fds[0], c, (nuint)chunk.Length, position);
                        if (r <= 0)
                        {
                            break;
                        }

                        all.Write(chunk, 0, (int)r);
                        position += r;
                    }
                }

                content = all.ToArray();
            }

            foreach (int fd in fds)
            {
                _ = Libc.Close(fd);
            }

            return new Datagram(data[..(int)n], [.. fds], content, seals);
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(SocketPath);
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Parses the native protocol (both field forms) into (name, value) pairs, in order.</summary>
internal static class NativeEntry
{
    public static List<KeyValuePair<string, byte[]>> Parse(ReadOnlySpan<byte> data)
    {
        var fields = new List<KeyValuePair<string, byte[]>>();
        int i = 0;
        while (i < data.Length)
        {
            int end = data[i..].IndexOf((byte)'\n');
            int equals = data[i..].IndexOf((byte)'=');
            if (equals >= 0 && (end < 0 || equals < end))
            {
                string name = Encoding.ASCII.GetString(data.Slice(i, equals));
                fields.Add(new(name, data.Slice(i + equals + 1, end - equals - 1).ToArray()));
                i += end + 1;
            }
            else
            {
                string name = Encoding.ASCII.GetString(data.Slice(i, end));
                i += end + 1;
                int length = checked((int)BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i, 8)));
                i += 8;
                fields.Add(new(name, data.Slice(i, length).ToArray()));
                i += length;
                if (data[i] != (byte)'\n')
                {
                    throw new FormatException("binary field not followed by a newline");
                }

                i++;
            }
        }

        return fields;
    }

    public static Dictionary<string, string> ToDictionary(List<KeyValuePair<string, byte[]>> fields)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in fields)
        {
            Assert.False(result.ContainsKey(name), $"field {name} appears twice");
            result[name] = Encoding.UTF8.GetString(value);
        }

        return result;
    }
}

/// <summary>A stream that records each Write call separately (to prove one write per record).</summary>
internal sealed class RecordingStream : Stream
{
    private readonly List<byte[]> _writes = [];

    public IReadOnlyList<byte[]> Writes
    {
        get
        {
            lock (_writes)
            {
                return [.. _writes];
            }
        }
    }

    public string Text => Encoding.UTF8.GetString(Writes.SelectMany(w => w).ToArray());

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // Deliberately not thread-safe inside: the logger must serialize writes itself.
        var copy = buffer.ToArray();
        Thread.SpinWait(10);
        _writes.Add(copy);
    }
}
