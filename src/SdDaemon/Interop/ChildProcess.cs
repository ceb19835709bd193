using System.Globalization;

namespace SdDaemon.Interop;

/// <summary>A child's end as waitpid(2) reports it: an exit code, or the signal that killed it.</summary>
internal readonly record struct WaitStatus(int Raw)
{
    /// <summary>WIFEXITED: it exited (rather than being killed by a signal).</summary>
    public bool Exited => (Raw & 0x7f) == 0;

    /// <summary>WEXITSTATUS: the exit code (meaningful when <see cref="Exited"/>).</summary>
    public int ExitCode => (Raw >> 8) & 0xff;

    /// <summary>WTERMSIG: the signal that killed it; 0 when it exited.</summary>
    public int Signal => Raw & 0x7f;

    /// <summary>The exit code as a shell reports it: 128 + the signal for a killed process.</summary>
    public int ShellExitCode => Exited ? ExitCode : 128 + Signal;

    /// <summary>"exit status 3" or "killed by signal 9".</summary>
    public override string ToString() => Exited ? $"exit status {ExitCode.ToString(CultureInfo.InvariantCulture)}" : $"killed by signal {Signal.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>waitpid(2) on one child, retried on EINTR: the one place that reaps.</summary>
internal static unsafe class ChildProcess
{
    /// <summary>
    /// Reaps <paramref name="pid"/>: its pid with <paramref name="status"/> once it has ended,
    /// 0 while it runs (only without <paramref name="block"/>), -1 with errno (ECHILD: not our child, or reaped already).
    /// </summary>
    public static int Wait(int pid, bool block, out WaitStatus status)
    {
        int raw = 0;
        int result;
        do
        {
            result = Libc.WaitPid(pid, &raw, block ? 0 : Libc.WNOHANG);
        }
        while (result < 0 && Libc.LastErrno == Errno.EINTR);
        status = new WaitStatus(raw);
        return result;
    }
}
