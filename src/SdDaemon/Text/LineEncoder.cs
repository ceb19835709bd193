namespace SdDaemon.Text;

/// <summary>
/// The one place that turns text into stream records (spec J-1): every line gets its own
/// <c>&lt;N&gt;</c> prefix, <c>\n</c>, <c>\r\n</c> and a lone <c>\r</c> end a line, empty lines are left
/// out (journald drops them anyway), control characters are escaped so that they can neither split a
/// record (NUL does in journald) nor rewrite a terminal, and a line longer than LineMax is split at
/// a UTF-8 character boundary into records that each carry the prefix.
/// </summary>
internal static class LineEncoder
{
    /// <summary>Bytes a line needs around its text: <c>&lt;N&gt;</c> and the newline.</summary>
    public const int PrefixedOverhead = 4;

    /// <summary>journald's default <c>LineMax=</c> (48 KiB, journald.conf(5)).</summary>
    public const int DefaultLineMax = 48 * 1024;

    /// <summary>The smallest LineMax accepted: room for the prefix and one escaped character.</summary>
    public const int MinimumLineMax = 16;

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    /// <summary>Appends the records for <paramref name="text"/> (UTF-8, not necessarily valid).</summary>
    /// <param name="output">Where the records go.</param>
    /// <param name="priority">0-7, or -1 for lines without a prefix (interactive output).</param>
    /// <param name="text">The message; may hold several lines.</param>
    /// <param name="lineMax">journald's LineMax: a record, prefix and newline included, is never longer.</param>
    public static void Append(PooledBuffer output, int priority, ReadOnlySpan<byte> text, int lineMax)
    {
        int maxContent = lineMax - (priority >= 0 ? PrefixedOverhead : 1);
        int i = 0;
        while (i < text.Length)
        {
            int rest = text[i..].IndexOfAny((byte)'\n', (byte)'\r');
            int end = rest < 0 ? text.Length : i + rest;
            if (end > i)
            {
                AppendLine(output, priority, text[i..end], maxContent);
            }

            if (end == text.Length)
            {
                break;
            }

            i = end + 1;
            if (text[end] == (byte)'\r' && i < text.Length && text[i] == (byte)'\n')
            {
                i++;
            }
        }
    }

    private static void AppendLine(PooledBuffer output, int priority, ReadOnlySpan<byte> line, int maxContent)
    {
        // Worst case: every byte escaped (x4), plus a prefix and newline per chunk.
        output.Ensure((line.Length * 4) + (((line.Length * 4 / Math.Max(1, maxContent - 8)) + 2) * PrefixedOverhead));
        Span<byte> destination = output.GetSpan(0);
        int written = 0;
        int lineStart;
        StartChunk(destination, ref written, priority);
        lineStart = written;
        int i = 0;
        while (i < line.Length)
        {
            // The common case: a run of printable ASCII, copied in bulk (found with a vectorized search).
            int run = line[i..].IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e);
            if (run < 0)
            {
                run = line.Length - i;
            }

            while (run > 0)
            {
                int room = maxContent - (written - lineStart);
                if (room <= 0)
                {
                    destination[written++] = (byte)'\n';
                    StartChunk(destination, ref written, priority);
                    lineStart = written;
                    continue;
                }

                int n = Math.Min(run, room);
                line.Slice(i, n).CopyTo(destination[written..]);
                written += n;
                i += n;
                run -= n;
            }

            if (i >= line.Length)
            {
                break;
            }

            byte b = line[i];
            int unitLength;
            int consumed;
            bool escape;
            if (b < 0x20 && b != (byte)'\t' || b == 0x7f)
            {
                escape = true;
                unitLength = 4; // \xHH
                consumed = 1;
            }
            else if (b < 0x80)
            {
                escape = false;
                unitLength = 1;
                consumed = 1;
            }
            else
            {
                consumed = SequenceLength(line[i..]);
                // C1 controls (U+0080-U+009F: CSI, NEL...) act on terminals like ESC does.
                escape = consumed == 2 && b == 0xc2 && line[i + 1] < 0xa0;
                unitLength = escape ? 8 : consumed; // \xc2\x85
            }

            if (written - lineStart + unitLength > maxContent && written > lineStart)
            {
                destination[written++] = (byte)'\n';
                StartChunk(destination, ref written, priority);
                lineStart = written;
            }

            if (escape)
            {
                for (int k = 0; k < consumed; k++)
                {
                    byte e = line[i + k];
                    destination[written++] = (byte)'\\';
                    destination[written++] = (byte)'x';
                    destination[written++] = Hex[e >> 4];
                    destination[written++] = Hex[e & 0xf];
                }
            }
            else
            {
                line.Slice(i, consumed).CopyTo(destination[written..]);
                written += consumed;
            }

            i += consumed;
        }

        destination[written++] = (byte)'\n';
        output.Advance(written);
    }

    private static void StartChunk(Span<byte> destination, ref int written, int priority)
    {
        if (priority >= 0)
        {
            destination[written++] = (byte)'<';
            destination[written++] = (byte)('0' + priority);
            destination[written++] = (byte)'>';
        }
    }

    /// <summary>The length of the UTF-8 sequence that <paramref name="lead"/> starts (2 to 4), or 1 for an
    /// ASCII byte and for a byte that starts no well-formed sequence (a continuation byte, C0, C1, F5-FF).</summary>
    public static int LeadLength(byte lead) => lead switch
    {
        >= 0xc2 and <= 0xdf => 2,
        >= 0xe0 and <= 0xef => 3,
        >= 0xf0 and <= 0xf4 => 4,
        _ => 1,
    };

    /// <summary>The length of the UTF-8 sequence starting at text[0]; 1 for a stray or invalid byte,
    /// so that a split never lands inside a well-formed character.</summary>
    private static int SequenceLength(ReadOnlySpan<byte> text)
    {
        int length = LeadLength(text[0]);
        if (length > text.Length)
        {
            return 1;
        }

        for (int k = 1; k < length; k++)
        {
            if ((text[k] & 0xc0) != 0x80)
            {
                return 1;
            }
        }

        return length;
    }
}
