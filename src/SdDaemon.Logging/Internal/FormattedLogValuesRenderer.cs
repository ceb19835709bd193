using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>
/// Writes the message of Microsoft.Extensions.Logging's template state (what <c>LogInformation(template,
/// args)</c> logs: the internal <c>FormattedLogValues</c>) straight into a record buffer as UTF-8, the
/// same bytes as the UTF-8 of its formatter's string, without making that string (spec J-8).
/// </summary>
/// <remarks>
/// <para>The template is cut the way MEL's LogValuesFormatter cuts it (a hole opens at the last
/// <c>{</c> of an odd run and closes at the first <c>}</c> after it; the name ends at <c>,</c> or
/// <c>:</c>), and the composite format that gives is read by string.Format's rules (<c>{{</c> and
/// <c>}}</c> are one brace). Values: null is <c>(null)</c>, a string its text, bool <c>True</c> or
/// <c>False</c>, and the numbers, dates, times and Guids of the base library their UTF-8 formatting
/// with the hole's format and the invariant culture, as string.Format does.</para>
/// <para>Everything else is left to the formatter (the caller then writes its string): other states
/// (a source-generated one formats with the current culture), alignment (<c>{X,5}</c>), a brace or a
/// character outside ASCII in a hole's format, a lone brace, other value types (sequences, which MEL
/// joins, enums, the user's types), a surrogate at the edge of a piece (a pair split between a
/// literal and a value is one character in the string and two U+FFFD when the pieces are encoded
/// apart), and any exception (too few values: the formatter then throws as it did).</para>
/// <para>MessageTemplate is not reused: it reads templates leniently for SyslogLogValues (an unclosed
/// brace stays text), where MEL's formatter throws; this one must follow MEL byte for byte.</para>
/// </remarks>
internal static class FormattedLogValuesRenderer
{
    private const int MaxCached = 1024;

    private static readonly ConcurrentDictionary<string, Plan?> s_plans = new(StringComparer.Ordinal);

    /// <summary>Appends the message of <paramref name="state"/> to <paramref name="buffer"/>; false, with
    /// the buffer as it was, when the state is not one this renders exactly (the caller formats it).</summary>
    public static bool TryRender<TState>(TState state, PooledBuffer buffer)
    {
        if (!IsTemplateState<TState>.Value)
        {
            return false;
        }

        int start = buffer.Length;
        try
        {
            if (Render((IReadOnlyList<KeyValuePair<string, object?>>)state!, buffer))
            {
                return true;
            }
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentException)
        {
            // Too few values, a format the type rejects: the formatter says it as it always did.
        }

        buffer.Truncate(start);
        return false;
    }

    private static bool Render(IReadOnlyList<KeyValuePair<string, object?>> values, PooledBuffer buffer)
    {
        int count = values.Count;
        KeyValuePair<string, object?> last = values[count - 1];
        if (last.Key != SyslogLogValues.OriginalFormatKey || last.Value is not string template)
        {
            return false;
        }

        Plan? plan = GetPlan(template);
        if (plan is null || plan.Holes != count - 1)
        {
            return false;
        }

        buffer.Write(plan.Literals[0]);
        for (int i = 0; i < plan.Holes; i++)
        {
            if (!WriteValue(values[i].Value, plan.Formats[i], buffer))
            {
                return false;
            }

            buffer.Write(plan.Literals[i + 1]);
        }

        return true;
    }

    private static bool WriteValue(object? value, string? format, PooledBuffer buffer)
    {
        switch (value)
        {
            case null:
                buffer.Write("(null)"u8);
                return true;
            case string text:
                if (text.Length > 0 && (char.IsLowSurrogate(text[0]) || char.IsHighSurrogate(text[^1])))
                {
                    return false;
                }

                buffer.WriteUtf8(text);
                return true;
            case bool flag:
                buffer.Write(flag ? "True"u8 : "False"u8); // bool is not IFormattable: string.Format ignores the format
                return true;
            case int or long or short or sbyte or uint or ulong or ushort or byte or double or float or decimal
                or DateTime or DateTimeOffset or TimeSpan or Guid:
                IUtf8SpanFormattable formattable = (IUtf8SpanFormattable)value;
                for (int size = 64; size <= 64 * 1024; size *= 4)
                {
                    if (formattable.TryFormat(buffer.GetSpan(size), out int written, format, CultureInfo.InvariantCulture))
                    {
                        buffer.Advance(written);
                        return true;
                    }
                }

                return false;
            default:
                return false;
        }
    }

    private static Plan? GetPlan(string template)
    {
        if (s_plans.TryGetValue(template, out Plan? plan))
        {
            return plan;
        }

        plan = Plan.Parse(template);
        if (s_plans.Count < MaxCached)
        {
            s_plans.TryAdd(template, plan);
        }

        return plan;
    }

    /// <summary>Whether TState is MEL's FormattedLogValues (internal to Microsoft.Extensions.Logging.Abstractions),
    /// decided once per type.</summary>
    private static class IsTemplateState<TState>
    {
        public static readonly bool Value =
            typeof(TState).FullName == "Microsoft.Extensions.Logging.FormattedLogValues"
            && typeof(TState).Assembly == typeof(ILogger).Assembly
            && typeof(IReadOnlyList<KeyValuePair<string, object?>>).IsAssignableFrom(typeof(TState));
    }

    /// <summary>A template cut into literal text (UTF-8, braces unescaped) and holes (their formats).</summary>
    private sealed class Plan(byte[][] literals, string?[] formats)
    {
        public byte[][] Literals { get; } = literals;

        public string?[] Formats { get; } = formats;

        public int Holes => Formats.Length;

        /// <summary>The plan of <paramref name="template"/>, or null when it is one to leave to the formatter.</summary>
        public static Plan? Parse(string template)
        {
            var literals = new List<byte[]>();
            var formats = new List<string?>();
            var literal = new StringBuilder();
            int scan = 0;
            while (scan < template.Length)
            {
                int open = FindBrace(template, '{', scan);
                int close = FindBrace(template, '}', open);
                if (close == template.Length)
                {
                    // No hole left: the rest is literal text of the composite format.
                    if (!Unescape(template.AsSpan(scan), literal))
                    {
                        return null;
                    }

                    break;
                }

                if (!Unescape(template.AsSpan(scan, open - scan), literal))
                {
                    return null;
                }

                ReadOnlySpan<char> hole = template.AsSpan(open + 1, close - open - 1);
                int delimiter = hole.IndexOfAny(',', ':');
                string? format = null;
                if (delimiter >= 0)
                {
                    if (hole[delimiter] == ',')
                    {
                        return null; // alignment
                    }

                    ReadOnlySpan<char> text = hole[(delimiter + 1)..];
                    if (text.ContainsAny('{', '}') || text.ContainsAnyExceptInRange((char)0x20, (char)0x7e))
                    {
                        return null;
                    }

                    format = text.IsEmpty ? null : text.ToString();
                }

                if (close + 1 < template.Length && template[close + 1] == '}')
                {
                    return null; // "}}" right after a hole: how string.Format reads it has changed between versions
                }

                if (!AddLiteral(literals, literal))
                {
                    return null;
                }

                formats.Add(format);
                scan = close + 1;
            }

            if (!AddLiteral(literals, literal))
            {
                return null;
            }

            if (formats.Count == 0 && template.AsSpan().ContainsAny('{', '}'))
            {
                return null; // with no values the template is written as it is; with values, unescaped
            }

            return new Plan([.. literals], [.. formats]);
        }

        /// <summary>MEL's rule: from <paramref name="start"/>, the last <c>{</c> (or the first <c>}</c>)
        /// of the first run of that brace whose length is odd; the template's length when there is none.</summary>
        private static int FindBrace(string template, char brace, int start)
        {
            int found = template.Length;
            int run = 0;
            for (int i = start; i < template.Length; i++)
            {
                if (template[i] == brace)
                {
                    if (brace == '{' || run == 0)
                    {
                        found = i;
                    }

                    run++;
                    continue;
                }

                if (run > 0)
                {
                    if (run % 2 != 0)
                    {
                        break;
                    }

                    run = 0;
                    found = template.Length;
                }
            }

            return found;
        }

        /// <summary>Literal text of the composite format: <c>{{</c> and <c>}}</c> are one brace, a lone
        /// brace makes string.Format throw (false).</summary>
        private static bool Unescape(ReadOnlySpan<char> text, StringBuilder literal)
        {
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c is '{' or '}')
                {
                    if (i + 1 >= text.Length || text[i + 1] != c)
                    {
                        return false;
                    }

                    i++;
                }

                literal.Append(c);
            }

            return true;
        }

        private static bool AddLiteral(List<byte[]> literals, StringBuilder literal)
        {
            string text = literal.ToString();
            literal.Clear();
            if (text.Length > 0 && (char.IsLowSurrogate(text[0]) || char.IsHighSurrogate(text[^1])))
            {
                return false;
            }

            literals.Add(Encoding.UTF8.GetBytes(text));
            return true;
        }
    }
}
