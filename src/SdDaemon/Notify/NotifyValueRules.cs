using System.Text;

namespace SdDaemon;

/// <summary>
/// What the manager accepts in a notify assignment, checked when a <see cref="NotifyState"/> is
/// made so that a bad value fails at the caller, not silently in the manager (spec N-6, N-7).
/// </summary>
internal static class NotifyValueRules
{
    /// <summary>The manager ignores STATUS= text longer than this (STATUS_TEXT_MAX, 16 KiB).</summary>
    internal const int StatusMaxBytes = 16 * 1024;

    /// <summary>FDNAME_MAX: the longest name the manager accepts.</summary>
    internal const int FdNameMax = 255;

    /// <summary>fdname_is_valid(): printable ASCII without ':', 1-255 characters.</summary>
    internal static bool IsValidFdName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > FdNameMax)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c < ' ' || c >= 127 || c == ':')
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsValidKey(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty)
        {
            return false;
        }

        foreach (char c in key)
        {
            if (!(c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsValidBusErrorName(string name)
    {
        if (name.Length is 0 or > 255)
        {
            return false;
        }

        string[] elements = name.Split('.');
        if (elements.Length < 2)
        {
            return false;
        }

        foreach (string element in elements)
        {
            if (element.Length == 0 || char.IsAsciiDigit(element[0]))
            {
                return false;
            }

            foreach (char c in element)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The Varlink specification's grammar: interface <c>[A-Za-z]([-]*[A-Za-z0-9])*(\.[A-Za-z0-9]([-]*[A-Za-z0-9])*)+</c>,
    /// then <c>.</c> and a member name <c>[A-Z][A-Za-z0-9]*</c>.</summary>
    internal static bool IsValidVarlinkErrorName(string name)
    {
        int dot = name.LastIndexOf('.');
        if (name.Length > 255 || dot <= 0 || dot == name.Length - 1 || !char.IsAsciiLetterUpper(name[dot + 1]))
        {
            return false;
        }

        foreach (char c in name.AsSpan(dot + 1))
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        string[] elements = name[..dot].Split('.');
        if (elements.Length < 2 || !char.IsAsciiLetter(elements[0][0]))
        {
            return false;
        }

        foreach (string element in elements)
        {
            if (element.Length == 0 || element[0] == '-' || element[^1] == '-')
            {
                return false;
            }

            foreach (char c in element)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The rules every value obeys so that the manager reads it back as written (spec N-6, N-7).</summary>
    internal static void ValidateValue(string value, string parameterName)
    {
        int bad = value.AsSpan().IndexOfAny('\n', '\r', '\0');
        if (bad >= 0)
        {
            string what = value[bad] switch { '\n' => "a line feed", '\r' => "a carriage return", _ => "a NUL character" };
            throw new ArgumentException($"A notify value cannot contain {what} (at index {bad}): the manager would split or drop the message.", parameterName);
        }

        int trailingBackslashes = value.Length - value.AsSpan().TrimEnd('\\').Length;
        if (trailingBackslashes % 2 == 1)
        {
            throw new ArgumentException("A notify value cannot end in a lone backslash: the manager reads it as an escape of the line separator.", parameterName);
        }

        try
        {
            _ = StrictUtf8.GetByteCount(value);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("A notify value must be valid UTF-16 (it has a lone surrogate); the manager ignores invalid UTF-8.", parameterName, e);
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
