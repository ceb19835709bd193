using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace SdDaemon;

/// <summary>
/// Ending the process with a code systemd understands (see
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5), Process Exit Codes</see>).
/// </summary>
public static class ExitCode
{
    /// <summary><see cref="Environment.Exit(int)"/> with an LSB code.</summary>
    [DoesNotReturn]
    public static void Exit(LsbExitCode code)
    {
        Environment.Exit((int)code);
        throw new UnreachableException();
    }

    /// <summary><see cref="Environment.Exit(int)"/> with a BSD sysexits code.</summary>
    [DoesNotReturn]
    public static void Exit(SysExitCode code)
    {
        Environment.Exit((int)code);
        throw new UnreachableException();
    }
}
