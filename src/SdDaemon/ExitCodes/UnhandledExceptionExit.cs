using System.Text;
using SdDaemon.Text;

namespace SdDaemon;

/// <summary>
/// The counterpart of Go's <c>recover</c> at the top of a daemon: an unhandled exception on any
/// thread ends the process with a <c>&lt;2&gt;</c> (critical) record on stderr, which journald
/// stores with PRIORITY=2 (spec J-1), and with a meaningful exit code (EX_SOFTWARE, 70) instead of
/// the runtime's default abort (SIGABRT, a core dump, exit status 134). See
/// <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see> and
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5)</see>.
/// </summary>
/// <remarks>
/// Every line of the report (message and stack trace) carries its own <c>&lt;2&gt;</c> prefix,
/// because journald makes each line its own record. The manager then sees
/// <c>status=70/SOFTWARE</c>, and Restart=on-failure restarts the service.
/// </remarks>
public static class UnhandledExceptionExit
{
    private const int CriticalPriority = 2;

    private static int s_installed;
    private static int s_exitCode = (int)SysExitCode.Software;

    /// <summary>Installs the handler once per process (later calls only change the exit code).</summary>
    /// <param name="exitCode">The exit code; EX_SOFTWARE (70) by default.</param>
    public static void Install(SysExitCode exitCode = SysExitCode.Software)
    {
        s_exitCode = (int)exitCode;
        if (Interlocked.Exchange(ref s_installed, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += OnUnhandledException;
        }
    }

    /// <summary>The lines written for <paramref name="exception"/>, each with the <c>&lt;2&gt;</c> prefix.</summary>
    public static string Format(object exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        // The stream records of spec J-1, from the encoder SdDaemon.Logging uses too: control characters
        // escaped, empty lines left out, a line longer than journald's LineMax split into prefixed records.
        using var records = new PooledBuffer();
        LineEncoder.Append(records, CriticalPriority, Encoding.UTF8.GetBytes($"Unhandled exception, exiting with {s_exitCode}: {exception}"), LineEncoder.DefaultLineMax);
        return Encoding.UTF8.GetString(records.Written);
    }

    private static void OnUnhandledException(object sender, UnhandledExceptionEventArgs e)
    {
        try
        {
            using Stream stderr = Console.OpenStandardError();
            byte[] bytes = Encoding.UTF8.GetBytes(Format(e.ExceptionObject));
            stderr.Write(bytes);
            stderr.Flush();
        }
        catch (IOException)
        {
            // stderr is gone (closed pipe): the exit code still tells the story.
        }

        Environment.Exit(s_exitCode);
    }
}
