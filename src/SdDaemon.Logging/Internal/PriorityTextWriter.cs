using System.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>The TextWriter of <see cref="StderrLogger.Writer"/>: complete lines become records.</summary>
internal sealed class PriorityTextWriter(StderrLogger logger, SyslogPriority priority) : TextWriter(System.Globalization.CultureInfo.InvariantCulture)
{
    private readonly StringBuilder _pending = new();

    public override Encoding Encoding => new UTF8Encoding(false);

    public override void Write(char value)
    {
        lock (_pending)
        {
            _pending.Append(value);
            if (value is '\n' or '\r')
            {
                EmitCompleteLines();
            }
        }
    }

    public override void Write(char[] buffer, int index, int count) => Write(buffer.AsSpan(index, count));

    public override void Write(string? value) => Write(value.AsSpan());

    public override void Write(ReadOnlySpan<char> buffer)
    {
        lock (_pending)
        {
            _pending.Append(buffer);
            if (buffer.IndexOfAny('\n', '\r') >= 0)
            {
                EmitCompleteLines();
            }
        }
    }

    public override void WriteLine(string? value)
    {
        lock (_pending)
        {
            _pending.Append(value).Append('\n');
            EmitCompleteLines();
        }
    }

    public override void Flush()
    {
        lock (_pending)
        {
            if (_pending.Length > 0)
            {
                logger.Log(priority, _pending.ToString());
                _pending.Clear();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }

        base.Dispose(disposing);
    }

    private void EmitCompleteLines()
    {
        // Everything up to the last line end goes out as one record batch; the rest waits.
        int last = -1;
        for (int i = _pending.Length - 1; i >= 0; i--)
        {
            if (_pending[i] is '\n' or '\r')
            {
                last = i;
                break;
            }
        }

        if (last < 0)
        {
            return;
        }

        // A \r at the very end may be the first half of \r\n: keep it for the next write.
        if (_pending[last] == '\r' && last == _pending.Length - 1)
        {
            string complete = _pending.ToString(0, last);
            _pending.Remove(0, last);
            if (complete.Length > 0)
            {
                logger.Log(priority, complete);
            }

            return;
        }

        string lines = _pending.ToString(0, last + 1);
        _pending.Remove(0, last + 1);
        logger.Log(priority, lines);
    }
}
