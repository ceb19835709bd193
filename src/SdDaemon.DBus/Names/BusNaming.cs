namespace SdDaemon.DBus;

/// <summary>
/// The D-Bus specification's naming rules ("Valid Names" in
/// <see href="https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol-names">the D-Bus specification</see>),
/// checked before anything is sent: a bad name is the caller's bug and gets an
/// <see cref="ArgumentException"/> here instead of an InvalidArgs error reply (or a disconnect) later (DB-1).
/// </summary>
public static class BusNaming
{
    /// <summary>Names, interfaces and members are at most 255 bytes (they are ASCII, so characters).</summary>
    public const int MaxNameLength = 255;

    /// <summary>Whether <paramref name="name"/> is a valid well-known bus name: two or more elements
    /// separated by '.', each of [A-Za-z0-9_-] and not starting with a digit, not starting with ':'
    /// (a unique name, which only the bus assigns), at most 255 characters.</summary>
    public static bool IsValidWellKnownName(string? name) => IsDotted(name, allowHyphen: true);

    /// <summary>Whether <paramref name="name"/> is a valid interface name (as a bus name, without '-').</summary>
    public static bool IsValidInterfaceName(string? name) => IsDotted(name, allowHyphen: false);

    /// <summary>Whether <paramref name="name"/> is a valid member (method, property, signal) name:
    /// one element of [A-Za-z0-9_], not starting with a digit, 1 to 255 characters.</summary>
    public static bool IsValidMemberName(string? name) =>
        name is { Length: > 0 and <= MaxNameLength } && IsElement(name, allowHyphen: false);

    /// <summary>Whether <paramref name="path"/> is a valid object path: "/" or '/'-separated
    /// non-empty elements of [A-Za-z0-9_], without a trailing '/'.</summary>
    public static bool IsValidObjectPath(string? path)
    {
        if (path is null || path.Length == 0 || path[0] != '/')
        {
            return false;
        }

        if (path.Length == 1)
        {
            return true;
        }

        foreach (string element in path[1..].Split('/'))
        {
            if (element.Length == 0 || !element.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws unless <paramref name="name"/> is a valid well-known bus name.</summary>
    /// <exception cref="ArgumentException">It is not (the message says which rule it breaks).</exception>
    public static void ThrowIfInvalidWellKnownName(string name, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(name))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (!IsValidWellKnownName(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a valid well-known bus name: two or more '.'-separated elements of [A-Za-z0-9_-], none empty or starting with a digit, at most {MaxNameLength} characters, not a unique ':' name", parameter);
        }
    }

    /// <summary>Throws unless <paramref name="path"/> is a valid object path.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void ThrowIfInvalidObjectPath(string path, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(path))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(path, parameter);
        if (!IsValidObjectPath(path))
        {
            throw new ArgumentException($"'{path}' is not a valid object path: '/' or '/'-separated non-empty elements of [A-Za-z0-9_], no trailing '/'", parameter);
        }
    }

    /// <summary>Throws unless <paramref name="name"/> is a valid interface name.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void ThrowIfInvalidInterfaceName(string name, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(name))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (!IsValidInterfaceName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid interface name: two or more '.'-separated elements of [A-Za-z0-9_], none empty or starting with a digit, at most {MaxNameLength} characters", parameter);
        }
    }

    /// <summary>Throws unless <paramref name="name"/> is a valid member name.</summary>
    /// <exception cref="ArgumentException">It is not.</exception>
    public static void ThrowIfInvalidMemberName(string name, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(name))] string? parameter = null)
    {
        ArgumentNullException.ThrowIfNull(name, parameter);
        if (!IsValidMemberName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid member name: [A-Za-z0-9_], not starting with a digit, 1 to {MaxNameLength} characters", parameter);
        }
    }

    private static bool IsDotted(string? name, bool allowHyphen)
    {
        if (name is not { Length: > 0 and <= MaxNameLength } || name[0] == ':')
        {
            return false;
        }

        string[] elements = name.Split('.');
        return elements.Length >= 2 && elements.All(e => e.Length > 0 && IsElement(e, allowHyphen));
    }

    private static bool IsElement(string element, bool allowHyphen) =>
        !char.IsAsciiDigit(element[0])
        && element.All(c => char.IsAsciiLetterOrDigit(c) || c == '_' || (allowHyphen && c == '-'));
}
