namespace SdDaemon.Environ;

/// <summary>
/// Number parsing as systemd's <c>safe_atou</c>/<c>safe_atou64</c>/<c>safe_atoi</c>/<c>parse_pid</c>
/// do it (spec N-5): leading whitespace skipped, an optional <c>+</c>, the prefixes <c>0x</c>,
/// <c>0o</c>, <c>0b</c> and a leading-0 octal, no trailing garbage, no overflow. A <c>-</c> is
/// accepted only where systemd accepts it (signed values, and <c>-0</c>).
/// Deliberately stricter in one corner: systemd (through strtoul) also accepts whitespace and a
/// sign after a <c>0b</c>/<c>0o</c> prefix; this parser does not.
/// Results are errno values: 0 on success, EINVAL for malformed text, ERANGE for overflow.
/// </summary>
internal static class SystemdNumber
{
    public static int TryParseUInt64(ReadOnlySpan<char> text, out ulong value)
    {
        int error = ParseMagnitude(text, out value, out bool negative);
        if (error != 0)
        {
            return error;
        }

        if (negative && value != 0)
        {
            value = 0;
            return Interop.Errno.ERANGE;
        }

        return 0;
    }

    public static int TryParseUInt32(ReadOnlySpan<char> text, out uint value)
    {
        int error = TryParseUInt64(text, out ulong wide);
        value = 0;
        if (error != 0)
        {
            return error;
        }

        if (wide > uint.MaxValue)
        {
            return Interop.Errno.ERANGE;
        }

        value = (uint)wide;
        return 0;
    }

    public static int TryParseInt32(ReadOnlySpan<char> text, out int value)
    {
        value = 0;
        int error = ParseMagnitude(text, out ulong magnitude, out bool negative);
        if (error != 0)
        {
            return error;
        }

        if (negative)
        {
            if (magnitude > 1UL + int.MaxValue)
            {
                return Interop.Errno.ERANGE;
            }

            value = (int)(0 - (long)magnitude);
            return 0;
        }

        if (magnitude > int.MaxValue)
        {
            return Interop.Errno.ERANGE;
        }

        value = (int)magnitude;
        return 0;
    }

    /// <summary>parse_pid: a positive pid that fits pid_t; 0, negative and overflow are ERANGE.</summary>
    public static int TryParsePid(ReadOnlySpan<char> text, out int pid)
    {
        pid = 0;
        int error = TryParseUInt64(text, out ulong wide);
        if (error != 0)
        {
            return error;
        }

        if (wide == 0 || wide > int.MaxValue)
        {
            return Interop.Errno.ERANGE;
        }

        pid = (int)wide;
        return 0;
    }

    // systemd strips the 0b/0o prefixes before strtoul sees a sign, so "-0b1" and "+0o7" are
    // garbage there; strtoul itself handles a sign before 0x and before a leading-0 octal.
    private static int ParseMagnitude(ReadOnlySpan<char> text, out ulong value, out bool negative)
    {
        value = 0;
        negative = false;
        // systemd skips its WHITESPACE (" \t\n\r") before looking for a 0b/0o prefix; strtoul then
        // skips C's isspace (also \v, \f). A prefix after \v or \f is therefore not one.
        int i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\r')
        {
            i++;
        }

        bool prefixesAllowed = true;
        while (i < text.Length && IsCSpace(text[i]))
        {
            prefixesAllowed = false;
            i++;
        }

        bool signed = false;
        if (i < text.Length && (text[i] == '+' || text[i] == '-'))
        {
            negative = text[i] == '-';
            signed = true;
            i++;
        }

        int numberBase = 10;
        ReadOnlySpan<char> rest = text[i..];
        if (rest.Length >= 2 && rest[0] == '0' && (rest[1] | 0x20) == 'x' && rest.Length > 2 && DigitValue(rest[2]) < 16)
        {
            numberBase = 16;
            i += 2;
        }
        else if (!signed && prefixesAllowed && rest.Length >= 2 && rest[0] == '0' && (rest[1] | 0x20) == 'o')
        {
            numberBase = 8;
            i += 2;
        }
        else if (!signed && prefixesAllowed && rest.Length >= 2 && rest[0] == '0' && (rest[1] | 0x20) == 'b')
        {
            numberBase = 2;
            i += 2;
        }
        else if (rest.Length >= 1 && rest[0] == '0')
        {
            numberBase = 8;
        }

        int digits = 0;
        bool overflow = false;
        for (; i < text.Length; i++, digits++)
        {
            int digit = DigitValue(text[i]);
            if (digit >= numberBase)
            {
                break;
            }

            if (value > (ulong.MaxValue - (ulong)digit) / (ulong)numberBase)
            {
                overflow = true;
            }
            else
            {
                value = value * (ulong)numberBase + (ulong)digit;
            }
        }

        if (digits == 0 || i != text.Length)
        {
            value = 0;
            return Interop.Errno.EINVAL;
        }

        if (overflow)
        {
            value = 0;
            return Interop.Errno.ERANGE;
        }

        return 0;
    }

    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'z' => c - 'a' + 10,
        >= 'A' and <= 'Z' => c - 'A' + 10,
        _ => int.MaxValue,
    };
}
