using System.Globalization;
using System.Runtime.InteropServices;
using SdDaemon.Interop;

namespace SdDaemon.Logging;

/// <summary>
/// Whether a descriptor is the stream the service manager connected to journald, from
/// <c>$JOURNAL_STREAM</c> (spec J-2; <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#%24JOURNAL_STREAM">systemd.exec(5)</see>).
/// </summary>
/// <remarks>
/// The variable is inherited by every child process, including ones whose stderr was redirected
/// elsewhere (a shell pipeline started from a unit), so its presence proves nothing: the device and
/// inode numbers of fd 2 must both match it. They are read with statx(2), whose layout is the same on
/// every architecture, and the device is encoded as glibc's makedev(3) encodes <c>st_dev</c>, which is
/// what systemd writes into the variable.
/// </remarks>
public static class JournalStreamCheck
{
    /// <summary>
    /// True when this process's stderr (fd 2) is connected to journald: <c>$JOURNAL_STREAM</c> is set
    /// and fstat of fd 2 matches both of its numbers. Evaluated on each call.
    /// </summary>
    public static bool IsStandardErrorJournal =>
        OperatingSystem.IsLinux() && Matches(Environment.GetEnvironmentVariable(EnvironmentVariables.JournalStream), 2);

    /// <summary>
    /// True when the process runs under a service manager: systemd sets <c>$INVOCATION_ID</c> for every
    /// service it starts (systemd.exec(5)), and not for an interactive shell.
    /// </summary>
    public static bool IsUnderServiceManager =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("INVOCATION_ID"));

    /// <summary>Parses a <c>JOURNAL_STREAM</c> value, <c>DEV:INO</c> in decimal.</summary>
    /// <returns>False for null or malformed text.</returns>
    public static bool TryParse(string? value, out ulong device, out ulong inode)
    {
        device = 0;
        inode = 0;
        if (value is null)
        {
            return false;
        }

        int colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0
            && ulong.TryParse(value.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out ulong d)
            && ulong.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong i))
        {
            device = d;
            inode = i;
            return true;
        }

        return false;
    }

    /// <summary>True when <paramref name="journalStream"/> (a <c>JOURNAL_STREAM</c> value) names the
    /// open file <paramref name="handle"/>: both device and inode match.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    public static bool Matches(string? journalStream, SafeHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        using var reference = HandleReference.Add(handle);
        return Matches(journalStream, reference.Fd);
    }

    /// <summary>The <c>DEV:INO</c> text systemd would put into <c>JOURNAL_STREAM</c> for
    /// <paramref name="handle"/>, or null when it cannot be examined.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    public static string? Describe(SafeHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        using var reference = HandleReference.Add(handle);
        return Identify(reference.Fd) is { } identity
            ? string.Create(CultureInfo.InvariantCulture, $"{identity.Device}:{identity.Inode}")
            : null;
    }

    internal static bool Matches(string? journalStream, int fd) =>
        TryParse(journalStream, out ulong device, out ulong inode)
        && Identify(fd) is { } actual
        && device == actual.Device
        && inode == actual.Inode;

    /// <summary>What <paramref name="fd"/> is open on; null when it is not open (fd 2 closed: EBADF).</summary>
    private static FileIdentity? Identify(int fd) =>
        OperatingSystem.IsLinux() && Libc.TryStat(fd, null, out FileIdentity identity, out _) ? identity : null;
}
