namespace SdDaemon.Varlink;

/// <summary>
/// Name rules of the Varlink IDL (<see href="https://varlink.org/Interface-Definition">varlink.org:
/// Interface Definition</see>, spec V-6): an interface is a reverse domain name
/// (<c>org.example.ftl</c>), a method or error an upper-case identifier (<c>Monitor</c>).
/// </summary>
internal static class VarlinkNames
{
    /// <summary>Longest interface name sd-varlink accepts.</summary>
    private const int InterfaceMax = 255;

    /// <summary>
    /// Reverse domain name, as the IDL's grammar has it:
    /// <c>[A-Za-z](-*[A-Za-z0-9])*(\.[A-Za-z0-9](-*[A-Za-z0-9])*)+</c>.
    /// </summary>
    public static bool IsInterface(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > InterfaceMax || !char.IsAsciiLetter(name[0]))
        {
            return false;
        }

        int parts = 1;
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '.')
            {
                // A part ends with a letter or digit and the next one starts with one.
                if (name[i - 1] is '.' or '-' || i + 1 == name.Length || !char.IsAsciiLetterOrDigit(name[i + 1]))
                {
                    return false;
                }

                parts++;
            }
            else if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return parts >= 2 && name[^1] != '-';
    }

    /// <summary>A method, error or type name: an upper-case ASCII letter, then letters and digits.</summary>
    public static bool IsMember(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || !char.IsAsciiLetterUpper(name[0]))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>interface.Member</c>.</summary>
    public static bool IsQualifiedMember(ReadOnlySpan<char> name)
    {
        int dot = name.LastIndexOf('.');
        return dot > 0 && IsInterface(name[..dot]) && IsMember(name[(dot + 1)..]);
    }
}
