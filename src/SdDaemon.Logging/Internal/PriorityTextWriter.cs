using System.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>The TextWriter of <see cref="StderrLogger.Writer"/>: complete lines become records, and so
/// does a partial line once it fills a record (as journald does at LineMax), so that text without a
/// line end is never buffered without limit.</summary>
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

            EmitOverlong();
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

            EmitOverlong();
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

    /// <summary>A partial line that fills records goes out in whole records, as journald cuts at
    /// LineMax; the remainder (and a high surrogate cut from its other half) waits.</summary>
    private void EmitOverlong()
    {
        int max = logger.MaxLineContent;
        if (_pending.Length < max)
        {
            return;
        }

        int cut = _pending.Length - (_pending.Length % max);
        if (char.IsHighSurrogate(_pending[cut - 1]))
        {
            cut--;
        }

        string text = _pending.ToString(0, cut);
        _pending.Remove(0, cut);
        logger.Log(priority, text);
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
