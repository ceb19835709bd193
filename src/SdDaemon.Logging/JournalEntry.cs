using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using SdDaemon.Logging.Internal;
using SdDaemon.Text;

namespace SdDaemon.Logging;

/// <summary>
/// One structured journal entry being built, in the native protocol's wire format (spec J-3;
/// <see href="https://systemd.io/JOURNAL_NATIVE_PROTOCOL/">the native protocol</see>,
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_journal_print.html">sd_journal_sendv(3)</see>):
/// <c>NAME=value\n</c> per field, or, when the value holds a newline, <c>NAME\n</c>, the length as a
/// little-endian 64-bit number, the raw bytes and <c>\n</c>. Values are binary-safe. Send it with
/// <see cref="JournalNativeWriter.Send(JournalEntry)"/>. The buffer is pooled: dispose the entry, or
/// <see cref="Clear"/> and reuse it. Not thread-safe.
/// </summary>
public sealed class JournalEntry : IDisposable
{
    private readonly PooledBuffer _buffer;

    /// <summary>An empty entry.</summary>
    public JournalEntry()
        : this(new PooledBuffer())
    {
    }

    internal JournalEntry(PooledBuffer buffer)
    {
        _buffer = buffer;
    }

    /// <summary>The encoded entry, exactly the bytes of the datagram.</summary>
    public ReadOnlySpan<byte> Encoded => _buffer.Written;

    /// <summary>The number of encoded bytes.</summary>
    public int Length => _buffer.Length;

    /// <summary>Adds a field with a text value (UTF-8).</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid field name
    /// (see <see cref="JournalField.IsValidName"/>; map arbitrary names with <see cref="JournalField.MapName"/>).</exception>
    public JournalEntry Add(string name, ReadOnlySpan<char> value)
    {
        int start = BeginField(name);
        _buffer.WriteUtf8(value);
        EndField(start);
        return this;
    }

    /// <summary>Adds a field with a text value (UTF-8); null is an empty value.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid field name.</exception>
    public JournalEntry Add(string name, string? value) => Add(name, value.AsSpan());

    /// <summary>Adds a field with a binary value, sent byte for byte.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid field name.</exception>
    public JournalEntry Add(string name, ReadOnlySpan<byte> value)
    {
        int start = BeginField(name);
        _buffer.Write(value);
        EndField(start);
        return this;
    }

    /// <summary>Adds a number, formatted with the invariant culture.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid field name.</exception>
    public JournalEntry Add(string name, long value)
    {
        int start = BeginField(name);
        WriteFormattable(value);
        EndField(start);
        return this;
    }

    /// <summary>Adds <c>PRIORITY=</c> with one digit.</summary>
    public JournalEntry AddPriority(SyslogPriority priority)
    {
        if ((uint)priority > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "A syslog priority is 0 (Emerg) to 7 (Debug).");
        }

        _buffer.Write("PRIORITY="u8);
        _buffer.WriteByte((byte)('0' + (int)priority));
        _buffer.WriteByte((byte)'\n');
        return this;
    }

    /// <summary>Removes every field, keeping the buffer.</summary>
    public void Clear() => _buffer.Truncate(0);

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose() => _buffer.Dispose();

    /// <summary>Adds a field whose name is already valid ASCII, with a value formatted invariantly:
    /// numbers, dates (ISO 8601 round-trip), GUIDs and other <see cref="IFormattable"/>s with the
    /// invariant culture; null as an empty value.</summary>
    internal void AddObject(ReadOnlySpan<byte> asciiName, object? value)
    {
        int start = _buffer.Length;
        _buffer.Write(asciiName);
        _buffer.WriteByte((byte)'=');
        switch (value)
        {
            case null:
                break;
            case string s:
                _buffer.WriteUtf8(s);
                break;
            case DateTime dateTime:
                WriteFormattable(dateTime, "O");
                break;
            case DateTimeOffset dateTimeOffset:
                WriteFormattable(dateTimeOffset, "O");
                break;
            case IUtf8SpanFormattable formattable:
                WriteFormattable(formattable);
                break;
            case IFormattable formattable:
                _buffer.WriteUtf8(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                _buffer.WriteUtf8(value.ToString());
                break;
        }

        EndField(start + asciiName.Length + 1);
    }

    internal void AddNumber(ReadOnlySpan<byte> asciiName, long value)
    {
        _buffer.Write(asciiName);
        _buffer.WriteByte((byte)'=');
        WriteFormattable(value);
        _buffer.WriteByte((byte)'\n');
    }

    internal void AddText(ReadOnlySpan<byte> asciiName, ReadOnlySpan<char> value)
    {
        int start = _buffer.Length;
        _buffer.Write(asciiName);
        _buffer.WriteByte((byte)'=');
        _buffer.WriteUtf8(value);
        EndField(start + asciiName.Length + 1);
    }

    internal void AddRaw(ReadOnlySpan<byte> asciiName, ReadOnlySpan<byte> value)
    {
        int start = _buffer.Length;
        _buffer.Write(asciiName);
        _buffer.WriteByte((byte)'=');
        _buffer.Write(value);
        EndField(start + asciiName.Length + 1);
    }

    /// <summary>Room tried for one value's UTF-8 formatting before giving up on TryFormat.</summary>
    internal const int MaxFormattedSize = 1024 * 1024;

    /// <summary>Formats into the buffer with growing room up to <see cref="MaxFormattedSize"/>; a value
    /// whose TryFormat still says no (a larger value, or a broken implementation that always does)
    /// is written with <see cref="IFormattable.ToString(string?, IFormatProvider?)"/> instead.</summary>
    private void WriteFormattable<T>(T value, string? format = null)
        where T : IUtf8SpanFormattable
    {
        for (int size = 64; size <= MaxFormattedSize; size *= 4)
        {
            if (value.TryFormat(_buffer.GetSpan(size), out int written, format, CultureInfo.InvariantCulture))
            {
                _buffer.Advance(written);
                return;
            }
        }

        _buffer.WriteUtf8(value is IFormattable formattable
            ? formattable.ToString(format, CultureInfo.InvariantCulture)
            : value.ToString());
    }

    private int BeginField(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!JournalField.IsValidName(name))
        {
            throw new ArgumentException($"'{name}' is not a journal field name: 1-64 characters of A-Z, 0-9 and _, not starting with a digit or _.", nameof(name));
        }

        int needed = Encoding.ASCII.GetBytes(name, _buffer.GetSpan(name.Length + 1));
        _buffer.Advance(needed);
        _buffer.WriteByte((byte)'=');
        return _buffer.Length;
    }

    /// <summary>
    /// Finishes a field whose value starts at <paramref name="valueStart"/> (just after the <c>=</c>):
    /// a value with a newline is rewritten into the binary form, in place.
    /// </summary>
    private void EndField(int valueStart)
    {
        int valueLength = _buffer.Length - valueStart;
        if (_buffer.Array.AsSpan(valueStart, valueLength).IndexOf((byte)'\n') < 0)
        {
            _buffer.WriteByte((byte)'\n');
            return;
        }

        // NAME=value  ->  NAME\n<u64 le length>value\n : the value moves 8 bytes right.
        _buffer.Ensure(9);
        byte[] array = _buffer.Array;
        Array.Copy(array, valueStart, array, valueStart + 8, valueLength);
        array[valueStart - 1] = (byte)'\n';
        BinaryPrimitives.WriteUInt64LittleEndian(array.AsSpan(valueStart, 8), (ulong)valueLength);
        _buffer.Advance(8);
        _buffer.WriteByte((byte)'\n');
    }
}
