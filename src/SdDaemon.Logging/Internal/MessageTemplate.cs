using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>
/// A Microsoft.Extensions.Logging message template (<c>"User {UserId} logged in"</c>), parsed once:
/// the hole names in order and a composite format string. Formats like MEL does: invariant culture,
/// null as <c>(null)</c>, sequences joined with <c>", "</c>.
/// </summary>
internal sealed class MessageTemplate
{
    private static readonly ConcurrentDictionary<string, MessageTemplate> s_cache = new(StringComparer.Ordinal);

    private readonly CompositeFormat _format;
    private readonly bool _literal;

    private MessageTemplate(string text)
    {
        Text = text;
        var names = new List<string>();
        var format = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                format.Append("{{");
                i += 2;
                continue;
            }

            if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                format.Append("}}");
                i += 2;
                continue;
            }

            if (c == '{')
            {
                int close = text.IndexOf('}', i + 1);
                if (close < 0)
                {
                    format.Append("{{").Append(text.AsSpan(i + 1).ToString().Replace("}", "}}", StringComparison.Ordinal));
                    break;
                }

                string hole = text[(i + 1)..close];
                int nameEnd = hole.IndexOfAny([',', ':']);
                names.Add(nameEnd < 0 ? hole : hole[..nameEnd]);
                format.Append('{').Append((names.Count - 1).ToString(CultureInfo.InvariantCulture));
                if (nameEnd >= 0)
                {
                    format.Append(hole.AsSpan(nameEnd));
                }

                format.Append('}');
                i = close + 1;
                continue;
            }

            if (c == '}')
            {
                format.Append("}}");
                i++;
                continue;
            }

            format.Append(c);
            i++;
        }

        try
        {
            _format = CompositeFormat.Parse(format.ToString());
            Names = [.. names];
        }
        catch (FormatException)
        {
            // Not a valid template ({Name,wide}): log its text as it is, like MEL does.
            _format = CompositeFormat.Parse(text.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal));
            Names = [];
            _literal = true;
        }
    }

    public string Text { get; }

    public string[] Names { get; }

    public static MessageTemplate Get(string text)
    {
        if (s_cache.TryGetValue(text, out MessageTemplate? template))
        {
            return template;
        }

        template = new MessageTemplate(text);
        if (s_cache.Count < 1024)
        {
            s_cache.TryAdd(text, template);
        }

        return template;
    }

    public string Format(object?[] args)
    {
        if (_literal)
        {
            return Text;
        }

        if (Names.Length == 0)
        {
            return Text.Replace("{{", "{", StringComparison.Ordinal).Replace("}}", "}", StringComparison.Ordinal);
        }

        var values = new object?[Math.Max(args.Length, Names.Length)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = i < args.Length ? Display(args[i]) : null;
        }

        return string.Format(CultureInfo.InvariantCulture, _format, values);
    }

    private static object Display(object? value)
    {
        if (value is null)
        {
            return "(null)";
        }

        if (value is IEnumerable sequence and not string and not IFormattable)
        {
            var text = new StringBuilder();
            foreach (object? item in sequence)
            {
                if (text.Length > 0)
                {
                    text.Append(", ");
                }

                text.Append(item is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : item?.ToString() ?? "(null)");
            }

            return text.ToString();
        }

        return value;
    }
}
