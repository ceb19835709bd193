using System.Buffers;

namespace SdDaemon.Text;

/// <summary>A growable byte buffer on <see cref="ArrayPool{T}.Shared"/>; not thread-safe.</summary>
internal sealed class PooledBuffer : IDisposable
{
    /// <summary>Buffers larger than this go back to the pool on <see cref="Reset"/> instead of being kept.</summary>
    private const int MaxRetained = 64 * 1024;

    private byte[] _array;
    private int _length;

    public PooledBuffer(int initialCapacity = 1024)
    {
        _array = ArrayPool<byte>.Shared.Rent(initialCapacity);
    }

    public int Length => _length;

    public ReadOnlySpan<byte> Written => _array.AsSpan(0, _length);

    public byte[] Array => _array;

    public Span<byte> GetSpan(int sizeHint)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_length);
    }

    public void Advance(int count) => _length += count;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_array.AsSpan(_length));
        _length += bytes.Length;
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _array[_length++] = value;
    }

    /// <summary>Drops the last bytes (back to <paramref name="length"/>).</summary>
    public void Truncate(int length) => _length = length;

    public void Reset()
    {
        _length = 0;
        if (_array.Length > MaxRetained)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = ArrayPool<byte>.Shared.Rent(1024);
        }
    }

    public void Ensure(int additional)
    {
        if (_array.Length - _length >= additional)
        {
            return;
        }

        int wanted = checked(_length + additional);
        byte[] larger = ArrayPool<byte>.Shared.Rent(Math.Max(wanted, _array.Length * 2));
        _array.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_array);
        _array = larger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_array);
        _array = [];
        _length = 0;
    }

    /// <summary>Appends <paramref name="text"/> as UTF-8 (lone surrogates become U+FFFD).</summary>
    public void WriteUtf8(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        Ensure(System.Text.Encoding.UTF8.GetMaxByteCount(text.Length));
        _length += System.Text.Encoding.UTF8.GetBytes(text, _array.AsSpan(_length));
    }
}

/// <summary>Per-thread scratch buffers, so that a log call allocates nothing in the steady state.</summary>
internal static class ScratchBuffers
{
    [ThreadStatic]
    private static PooledBuffer? s_first;

    [ThreadStatic]
    private static PooledBuffer? s_second;

    /// <summary>Takes this thread's first buffer (or a new one when it is already in use: re-entrancy).</summary>
    public static PooledBuffer RentFirst()
    {
        PooledBuffer? buffer = s_first;
        s_first = null;
        return buffer ?? new PooledBuffer();
    }

    public static PooledBuffer RentSecond()
    {
        PooledBuffer? buffer = s_second;
        s_second = null;
        return buffer ?? new PooledBuffer();
    }

    public static void ReturnFirst(PooledBuffer buffer)
    {
        buffer.Reset();
        s_first = buffer;
    }

    public static void ReturnSecond(PooledBuffer buffer)
    {
        buffer.Reset();
        s_second = buffer;
    }
}
