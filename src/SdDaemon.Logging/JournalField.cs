using System.Collections.Concurrent;
using System.Text;

namespace SdDaemon.Logging;

/// <summary>
/// The rules for journal field names (spec J-3;
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.journal-fields.html">systemd.journal-fields(7)</see>,
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_journal_print.html">sd_journal_print(3)</see>):
/// 1 to 64 characters of <c>A-Z</c>, <c>0-9</c> and <c>_</c>, not starting with a digit. Names starting
/// with <c>_</c> are trusted fields that only journald may set: it drops them from clients.
/// </summary>
public static class JournalField
{
    /// <summary>The longest field name journald accepts.</summary>
    public const int MaxNameLength = 64;

    private const int CacheLimit = 4096;
    private static readonly ConcurrentDictionary<string, byte[]> s_mapped = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="name"/> is a field name a client may send.</summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxNameLength || name[0] == '_' || char.IsAsciiDigit(name[0]))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Maps an arbitrary name (a message-template hole like <c>{UserId}</c>, a scope key) to a valid
    /// field name: camelCase and PascalCase words are separated by <c>_</c> (<c>UserId</c> to
    /// <c>USER_ID</c>, <c>HTTPStatus</c> to <c>HTTP_STATUS</c>), letters are upper-cased, anything
    /// outside <c>[A-Z0-9_]</c> becomes <c>_</c>, leading underscores are removed (they would make
    /// a trusted field), a leading digit gets an <c>F</c> in front, the result is cut at 64
    /// characters, and an empty result is <c>FIELD</c>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    public static string MapName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Encoding.ASCII.GetString(MapNameUtf8(name));
    }

    /// <summary>The mapped name as ASCII bytes, cached for the names a program keeps using.</summary>
    internal static byte[] MapNameUtf8(string name)
    {
        if (s_mapped.TryGetValue(name, out byte[]? cached))
        {
            return cached;
        }

        byte[] mapped = Map(name);
        if (s_mapped.Count < CacheLimit)
        {
            s_mapped.TryAdd(name, mapped);
        }

        return mapped;
    }

    private static byte[] Map(string name)
    {
        var result = new StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsAsciiLetterUpper(c))
            {
                // A new word: after a lower-case letter or digit, or the last capital of an acronym
                // followed by a lower-case letter (HTTPStatus -> HTTP_STATUS).
                bool afterLowerOrDigit = i > 0 && (char.IsAsciiLetterLower(name[i - 1]) || char.IsAsciiDigit(name[i - 1]));
                bool acronymEnd = i > 0 && char.IsAsciiLetterUpper(name[i - 1]) && i + 1 < name.Length && char.IsAsciiLetterLower(name[i + 1]);
                if ((afterLowerOrDigit || acronymEnd) && result.Length > 0 && result[^1] != '_')
                {
                    result.Append('_');
                }

                result.Append(c);
            }
            else if (char.IsAsciiLetterLower(c))
            {
                result.Append(char.ToUpperInvariant(c));
            }
            else if (char.IsAsciiDigit(c))
            {
                result.Append(c);
            }
            else
            {
                result.Append('_');
            }
        }

        int start = 0;
        while (start < result.Length && result[start] == '_')
        {
            start++;
        }

        string text = result.ToString(start, result.Length - start);
        if (text.Length == 0)
        {
            text = "FIELD";
        }
        else if (char.IsAsciiDigit(text[0]))
        {
            text = "F" + text;
        }

        if (text.Length > MaxNameLength)
        {
            text = text[..MaxNameLength];
        }

        return Encoding.ASCII.GetBytes(text);
    }
}
