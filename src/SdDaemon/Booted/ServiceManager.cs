using System.Runtime.Versioning;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Facts about the system's service manager, as
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_booted.html">sd_booted(3)</see> tells them.
/// </summary>
public static class ServiceManager
{
    /// <summary>The directory systemd creates early at boot; its existence means "booted with systemd".</summary>
    internal const string SystemdRuntimeDirectory = "/run/systemd/system/";

    /// <summary>
    /// True when the system was booted with systemd as its init (sd_booted(3)): <c>/run/systemd/system/</c>
    /// exists as a directory. False when it does not, on other platforms, and when the check fails;
    /// use <see cref="CheckBooted()"/> to tell a failure from a no.
    /// </summary>
    /// <remarks>This is about the system, not this process: a program started by hand on a systemd
    /// machine sees true. Whether this process is a service is NOTIFY_SOCKET's or INVOCATION_ID's business.</remarks>
    public static bool Booted => OperatingSystem.IsLinux() && CheckBooted().IsYes;

    /// <summary>
    /// sd_booted(3) with its error case (spec B-1): yes when <c>/run/systemd/system/</c> exists as a
    /// directory (checked with a no-follow access(2) of the path with its trailing slash, so a regular
    /// file there is ENOTDIR), no when it does not exist (ENOENT), failed with the errno otherwise
    /// (ENOTDIR, EACCES...). No on other platforms, which systemd never boots.
    /// </summary>
    public static CheckResult CheckBooted() =>
        OperatingSystem.IsLinux() ? CheckBooted(SystemdRuntimeDirectory) : CheckResult.No;

    /// <summary>The worker, with the path as a parameter for tests.</summary>
    [SupportedOSPlatform("linux")]
    internal static CheckResult CheckBooted(string directoryWithSlash)
    {
        if (Libc.FAccessAt(Libc.AT_FDCWD, directoryWithSlash, Libc.F_OK, Libc.AT_SYMLINK_NOFOLLOW) == 0)
        {
            return CheckResult.Yes;
        }

        int errno = Libc.LastErrno;
        return errno == Errno.ENOENT ? CheckResult.No : CheckResult.Failure(errno);
    }
}
