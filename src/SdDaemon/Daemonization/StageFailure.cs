using System.Diagnostics;
using System.Runtime.Versioning;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// How a stage after the original reports that it cannot go on: STATUS= and ERRNO= over the
/// notify protocol to the original process, which prints them on the terminal it was started from.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class StageFailure
{
    /// <summary>The failure as a notification: STATUS=<paramref name="message"/>, ERRNO= (EIO when <paramref name="errno"/> is not one).</summary>
    public static Notification Describe(int errno, string message) =>
        new(NotifyState.StatusFrom(message), NotifyState.Errno(Errno.ValidOrEIO(errno)));

    /// <summary>
    /// Reports the failure to the original process (and, with <paramref name="toStderr"/>, on
    /// stderr) and exits with <see cref="Daemon.FailureExitCode"/>; the exception is for <c>throw</c> at the call.
    /// </summary>
    public static UnreachableException Exit(int errno, string message, bool toStderr = false)
    {
        _ = TrySend(Describe(errno, message));
        if (toStderr)
        {
            Console.Error.WriteLine($"{CommandLine.ProgramName()}: {message}");
        }

        System.Environment.Exit(Daemon.FailureExitCode);
        return new UnreachableException();
    }

    /// <summary>Sends to NOTIFY_SOCKET; a notification the protocol refuses (a STATUS= too long...) is not sent.</summary>
    public static NotifyResult TrySend(Notification notification)
    {
        try
        {
            return notification.Send();
        }
        catch (ArgumentException)
        {
            return default;
        }
    }
}
