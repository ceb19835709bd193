namespace SdDaemon;

/// <summary>
/// The LSB exit codes for init scripts (0-7), which
/// <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see> recommends for
/// daemons and systemd understands (spec X-1; see also
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5), Process Exit Codes</see>).
/// Pass one to <see cref="Environment.Exit(int)"/> as <c>(int)LsbExitCode.NotConfigured</c>, or use <see cref="ExitCode.Exit(LsbExitCode)"/>.
/// </summary>
public enum LsbExitCode
{
    /// <summary>EXIT_SUCCESS: the program succeeded.</summary>
    Success = 0,

    /// <summary>EXIT_FAILURE: a generic or unspecified error.</summary>
    Failure = 1,

    /// <summary>Invalid or excess arguments.</summary>
    InvalidArgument = 2,

    /// <summary>Unimplemented feature.</summary>
    NotImplemented = 3,

    /// <summary>The user has insufficient privileges.</summary>
    NoPermission = 4,

    /// <summary>The program is not installed.</summary>
    NotInstalled = 5,

    /// <summary>The program is not configured.</summary>
    NotConfigured = 6,

    /// <summary>The program is not running.</summary>
    NotRunning = 7,
}
