namespace SdDaemon;

/// <summary>
/// The BSD sysexits.h exit codes (64-78), which systemd understands and names (spec X-1; see
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5), Process Exit Codes</see>
/// and <see href="https://man.freebsd.org/cgi/man.cgi?query=sysexits">sysexits(3)</see>).
/// Pass one to <see cref="Environment.Exit(int)"/> as <c>(int)SysExitCode.Config</c>, or use <see cref="ExitCode.Exit(SysExitCode)"/>.
/// </summary>
public enum SysExitCode
{
    /// <summary>EX_USAGE: the command was used incorrectly (wrong arguments, bad flag).</summary>
    Usage = 64,

    /// <summary>EX_DATAERR: the input data was incorrect.</summary>
    DataError = 65,

    /// <summary>EX_NOINPUT: an input file did not exist or was not readable.</summary>
    NoInput = 66,

    /// <summary>EX_NOUSER: the user specified did not exist.</summary>
    NoUser = 67,

    /// <summary>EX_NOHOST: the host specified did not exist.</summary>
    NoHost = 68,

    /// <summary>EX_UNAVAILABLE: a service is unavailable (a support program or file does not exist).</summary>
    Unavailable = 69,

    /// <summary>EX_SOFTWARE: an internal software error (a bug, an unhandled exception).</summary>
    Software = 70,

    /// <summary>EX_OSERR: an operating system error (cannot fork, cannot create a pipe).</summary>
    OSError = 71,

    /// <summary>EX_OSFILE: a system file (/etc/passwd...) does not exist or has an error.</summary>
    OSFile = 72,

    /// <summary>EX_CANTCREAT: a (user-specified) output file cannot be created.</summary>
    CannotCreate = 73,

    /// <summary>EX_IOERR: an error occurred while doing I/O on some file.</summary>
    IOError = 74,

    /// <summary>EX_TEMPFAIL: a temporary failure; the user is invited to retry.</summary>
    TemporaryFailure = 75,

    /// <summary>EX_PROTOCOL: the remote system returned something impossible during a protocol exchange.</summary>
    Protocol = 76,

    /// <summary>EX_NOPERM: insufficient permission to perform the operation.</summary>
    NoPermission = 77,

    /// <summary>EX_CONFIG: something was found in an unconfigured or misconfigured state.</summary>
    Config = 78,
}
