namespace SdDaemon.Logging.Internal;

/// <summary>The write-only Stream of <see cref="StderrLogger.OpenStream"/>: complete lines become records.</summary>
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
