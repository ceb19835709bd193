using System.Buffers;
using System.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>The TextWriter of <see cref="StderrLogger.Writer"/>: text encoded to UTF-8 and handed to a
/// <see cref="PriorityStream"/>, the one place that cuts bytes into records (complete lines, and a
/// partial line once it fills a record).</summary>
internal sealed class PriorityTextWriter(StderrLogger logger, SyslogPriority priority) : TextWriter(System.Globalization.CultureInfo.InvariantCulture)
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly PriorityStream _records = new(logger, priority);

    // Stateful, so that a surrogate pair split across two writes is encoded as one character.
    private readonly Encoder _encoder = s_utf8.GetEncoder();

    public override Encoding Encoding => s_utf8;

    public override void Write(char value) => Write(new ReadOnlySpan<char>(in value));

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(ReadOnlySpan<char> buffer) => Encode(buffer, "", flush: false);

    public override void WriteLine(string? value) => Encode(value, "\n", flush: false);

    public override void WriteLine(ReadOnlySpan<char> buffer) => Encode(buffer, "\n", flush: false);

    public override void Flush() => Encode([], "", flush: true);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
            _records.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Encodes <paramref name="text"/> and <paramref name="end"/> under one lock, so that a line and its
    /// newline are never split by another thread's write.</summary>
    private void Encode(ReadOnlySpan<char> text, ReadOnlySpan<char> end, bool flush)
    {
        lock (_encoder)
        {
            byte[] bytes = ArrayPool<byte>.Shared.Rent(s_utf8.GetMaxByteCount(text.Length + end.Length + 1));
            try
            {
                int length = _encoder.GetBytes(text, bytes, flush: false);
                length += _encoder.GetBytes(end, bytes.AsSpan(length), flush);
                _records.Write(bytes.AsSpan(0, length));
                if (flush)
                {
                    _records.Flush();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }
        }
    }
}
