using SdDaemon.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>The write-only Stream of <see cref="StderrLogger.OpenStream"/>: complete lines become records,
/// and so does a partial line once it fills a record (as journald does at LineMax), so that bytes
/// without a line end are never buffered without limit.</summary>
internal sealed class PriorityStream(StderrLogger logger, SyslogPriority priority) : Stream
{
    private readonly PooledBuffer _pending = new();
    private bool _disposed;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_disposed;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_pending)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pending.Write(buffer);
            ReadOnlySpan<byte> pending = _pending.Written;
            int last = pending.LastIndexOfAny((byte)'\n', (byte)'\r');
            int max = logger.MaxLineContent;
            if (last < 0 && pending.Length >= max)
            {
                // A partial line that fills records goes out in whole records, as journald cuts at
                // LineMax; the remainder (and a UTF-8 sequence cut short) waits.
                int cut = pending.Length - (pending.Length % max);
                last = cut - 1 - IncompleteTail(pending[..cut]);
            }

            if (last < 0)
            {
                return;
            }

            // A \r at the very end may be the first half of \r\n: it goes out, and a \n that follows
            // only makes an empty line, which is dropped.
            logger.Log(priority, pending[..(last + 1)]);
            int rest = pending.Length - (last + 1);
            pending[(last + 1)..].CopyTo(_pending.Array);
            _pending.Truncate(rest);
        }
    }

    /// <summary>How many bytes at the end of <paramref name="text"/> start a UTF-8 sequence that is not
    /// complete yet (0 to 3).</summary>
    private static int IncompleteTail(ReadOnlySpan<byte> text)
    {
        for (int back = 1; back <= 3 && back <= text.Length; back++)
        {
            byte b = text[^back];
            if ((b & 0xc0) == 0x80)
            {
                continue; // a continuation byte: look further back for the lead
            }

            return LineEncoder.LeadLength(b) > back ? back : 0;
        }

        return 0;
    }

    public override void Flush()
    {
        lock (_pending)
        {
            if (_pending.Length > 0)
            {
                logger.Log(priority, _pending.Written);
                _pending.Truncate(0);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            lock (_pending)
            {
                if (!_disposed)
                {
                    Flush();
                    _disposed = true;
                    _pending.Dispose();
                }
            }
        }

        base.Dispose(disposing);
    }
}
