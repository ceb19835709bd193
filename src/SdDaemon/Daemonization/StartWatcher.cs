using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>Follows the start: the session leader's MAINPID=, then the daemon's notifications and its life.</summary>
[SupportedOSPlatform("linux")]
internal sealed unsafe class StartWatcher(ReadinessSocket socket, int leader, TimeSpan timeout, bool subreaper)
{
    /// <summary>At most this many notifications are kept from the daemon before its pid is known (the rest are dropped).</summary>
    public const int MaxEarlyMessages = 64;

    /// <summary>
    /// Before MAINPID= only the daemon can be early, and it is in the session leader's new
    /// session (its session id is the leader's pid, also after the leader exited). Anyone else
    /// who found the abstract socket is ignored, and at most <see cref="MaxEarlyMessages"/> are kept.
    /// </summary>
    public static bool IsEarlyDaemonMessage(int pid, int leader, int kept) =>
        kept < MaxEarlyMessages && pid > 0 && pid != leader && Libc.GetSid(pid) == leader;

    private readonly List<(int Pid, IReadOnlyList<string> Lines)> _early = [];
    private int _daemon;
    private int _daemonPidFd = -1;
    private bool _daemonIsChild;
    private WaitStatus? _daemonWaitStatus;
    private bool _leaderReaped;
    private WaitStatus? _leaderStatus;
    private string? _status;
    private int _errno;
    private int? _exitStatus;
    private bool _ready;
    private string? _watchFailure;
    private long _deadline = Deadline.After(timeout);

    public (int, string?) Wait()
    {
        try
        {
            Libc.PollFd* polls = stackalloc Libc.PollFd[2];
            while (true)
            {
                polls[0] = new Libc.PollFd { Fd = socket.Fd, Events = Libc.POLLIN };
                polls[1] = new Libc.PollFd { Fd = _daemonPidFd, Events = Libc.POLLIN };
                // At most 100 ms: the session leader's exit and (as its orphan) the daemon's are also polled by waitpid.
                int remaining = Deadline.RemainingMilliseconds(_deadline);
                _ = Libc.Poll(polls, _daemonPidFd >= 0 ? 2u : 1u, remaining < 0 ? 100 : Math.Min(remaining, 100));
                Drain();
                if (_ready)
                {
                    ReapLeader(block: true);
                    return (0, null);
                }

                ReapLeader(block: false);
                WatchDaemon();
                if (_watchFailure is not null)
                {
                    return (Daemon.FailureExitCode, Describe(_watchFailure));
                }

                if (DaemonExited())
                {
                    Drain(); // whatever the daemon sent before it exited is queued already
                    return _ready ? (0, null) : (Daemon.FailureExitCode, Describe($"the daemon (pid {_daemon}) exited before READY=1", _daemonWaitStatus));
                }

                if (_leaderReaped && _daemon == 0)
                {
                    Drain();
                    if (_daemon == 0 && subreaper && FindOrphanedDaemon() is > 0 and int orphan)
                    {
                        Adopt(orphan);
                        continue;
                    }

                    if (_daemon == 0)
                    {
                        return (Daemon.FailureExitCode, Describe($"the session leader (pid {leader}) exited without starting the daemon", _leaderStatus));
                    }

                    continue;
                }

                if (Stopwatch.GetTimestamp() >= _deadline)
                {
                    bool signalled = _daemonPidFd >= 0 ? Libc.PidFdSendSignal(_daemonPidFd, Libc.SIGTERM) == 0
                        : _daemonIsChild && Libc.Kill(_daemon, Libc.SIGTERM) == 0; // our unreaped child: the pid cannot be reused
                    return (Daemon.FailureExitCode, Describe($"no READY=1 from the daemon{(_daemon > 0 ? $" (pid {_daemon})" : "")} within the start timeout{(signalled ? "; it was sent SIGTERM" : "")}"));
                }
            }
        }
        finally
        {
            Libc.CloseQuietly(_daemonPidFd);
        }
    }

    /// <summary>
    /// Gets hold of the daemon once its pid is known, without a pid-reuse race. As a subreaper:
    /// once the session leader is reaped, the daemon is our child (a zombie until we reap it), so
    /// waitpid() and pidfd_open() address exactly it. Without a subreaper: a pidfd at once,
    /// every failure of which is handled (ESRCH: it exited and was reaped by someone else).
    /// </summary>
    private void WatchDaemon()
    {
        if (_daemon == 0 || _daemonPidFd >= 0 || _daemonIsChild)
        {
            return;
        }

        if (subreaper)
        {
            if (!_leaderReaped)
            {
                return; // still the leader's child (which never reaps it): its pid is stable
            }

            int result = ChildProcess.Wait(_daemon, block: false, out WaitStatus status);
            if (result >= 0)
            {
                _daemonIsChild = true;
                _daemonWaitStatus = result == _daemon ? status : null;
                _daemonPidFd = result == 0 ? Libc.PidFdOpen(_daemon, 0) : -1; // for a prompt wake-up only; waitpid decides
                return;
            }

            // ECHILD: not re-parented to us (prctl was undone?): fall through to a pidfd.
        }

        int fd = Libc.PidFdOpen(_daemon, 0);
        if (fd >= 0)
        {
            _daemonPidFd = fd;
            return;
        }

        int errno = Libc.LastErrno;
        _watchFailure = errno == Errno.ESRCH
            ? $"the daemon (pid {_daemon}) exited before READY=1 (its exit status is unknown: it was reaped elsewhere)"
            : $"cannot watch the daemon (pid {_daemon}): {Errno.Describe("pidfd_open failed", errno)}; it was left running";
    }

    private bool DaemonExited()
    {
        if (_daemonWaitStatus is not null)
        {
            return true;
        }

        if (_daemonIsChild)
        {
            int result = ChildProcess.Wait(_daemon, block: false, out WaitStatus status);
            if (result == _daemon)
            {
                _daemonWaitStatus = status;
                return true;
            }

            return result < 0; // ECHILD: reaped by someone else after all
        }

        if (_daemonPidFd >= 0)
        {
            var poll = new Libc.PollFd { Fd = _daemonPidFd, Events = Libc.POLLIN };
            return Libc.Poll(&poll, 1, 0) > 0 && (poll.REvents & Libc.POLLIN) != 0;
        }

        return false;
    }

    private void Drain()
    {
        while (socket.TryReceive() is { } message)
        {
            if (message.Pid == leader && _daemon == 0)
            {
                Handle(message.Lines);
                if (NotifyDatagramReader.Get(message.Lines, "MAINPID") is { } text && SystemdNumber.TryParsePid(text, out int pid) == 0)
                {
                    Adopt(pid);
                }
            }
            else if (_daemon != 0 && message.Pid == _daemon)
            {
                Handle(message.Lines);
            }
            else if (_daemon == 0 && IsEarlyDaemonMessage(message.Pid, leader, _early.Count))
            {
                _early.Add(message); // the daemon was quicker than its parent's MAINPID=
            }

            // Otherwise another process (a child of the daemon, or anyone who found the
            // abstract socket): ignored, as NotifyAccess=main does.
        }
    }

    /// <summary>The daemon is <paramref name="pid"/>: what it sent before that was known counts now, and it is watched.</summary>
    private void Adopt(int pid)
    {
        _daemon = pid;
        foreach ((int early, IReadOnlyList<string> lines) in _early)
        {
            if (early == pid)
            {
                Handle(lines);
            }
        }

        _early.Clear();
        WatchDaemon();
    }

    /// <summary>
    /// The session leader exited without its MAINPID= (killed right after spawning the daemon,
    /// or its datagram lost): as a subreaper, its orphaned child is now OUR child, and the only
    /// one in the leader's session, whose id is the leader's pid (spec D-22). Orphans are
    /// re-parented before their parent's exit is reported, so after the leader was reaped the
    /// daemon, if it was spawned at all, is found here. 0 when there is none (or not exactly one).
    /// </summary>
    private int FindOrphanedDaemon()
    {
        int self = System.Environment.ProcessId;
        int found = 0;
        try
        {
            foreach (string entry in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == self)
                {
                    continue;
                }

                string stat;
                try
                {
                    stat = File.ReadAllText(entry + "/stat");
                }
                catch (IOException)
                {
                    continue; // gone meanwhile
                }

                // pid (comm) state ppid pgrp session ...; comm may contain anything but not a ')' after the last one.
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields.Length > 3 && fields[1] == self.ToString(CultureInfo.InvariantCulture) && fields[3] == leader.ToString(CultureInfo.InvariantCulture))
                {
                    if (found != 0)
                    {
                        return 0; // more than one: none of them can be told to be the daemon
                    }

                    found = pid;
                }
            }
        }
        catch (IOException)
        {
            return 0;
        }

        return found;
    }

    private void Handle(IReadOnlyList<string> lines)
    {
        if (lines.Contains("READY=1"))
        {
            _ready = true;
        }

        if (NotifyDatagramReader.Get(lines, "STATUS") is { } status)
        {
            _status = status;
        }

        if (NotifyDatagramReader.Get(lines, "ERRNO") is { } errno && SystemdNumber.TryParseInt32(errno, out int e) == 0 && e >= 0)
        {
            _errno = e;
        }

        if (NotifyDatagramReader.Get(lines, "EXIT_STATUS") is { } exit && SystemdNumber.TryParseInt32(exit, out int x) == 0 && x >= 0)
        {
            _exitStatus = x;
        }

        if (NotifyDatagramReader.Get(lines, "EXTEND_TIMEOUT_USEC") is { } extend && SystemdNumber.TryParseUInt64(extend, out ulong usec) == 0)
        {
            // As the manager does: the timeout now ends that long from now, never earlier than it was.
            long until = Deadline.After(new TimeSpan((long)Math.Min(usec, long.MaxValue / TimeSpan.TicksPerMicrosecond) * TimeSpan.TicksPerMicrosecond));
            _deadline = Math.Max(_deadline, until);
        }
    }

    private void ReapLeader(bool block)
    {
        if (_leaderReaped)
        {
            return;
        }

        int result = ChildProcess.Wait(leader, block, out WaitStatus status);
        if (result == leader || result < 0)
        {
            _leaderReaped = true;
            _leaderStatus = result == leader ? status : null;
        }
    }

    private string Describe(string what, WaitStatus? waitStatus = null)
    {
        var text = new StringBuilder(what);
        if (_status is not null)
        {
            text.Append(": ").Append(_status);
        }

        if (_errno != 0)
        {
            text.Append(" (").Append(Errno.Describe(_errno)).Append(')');
        }

        if (waitStatus is { } status)
        {
            // Exact, from waitpid(): also for a daemon killed by a signal, which could not say EXIT_STATUS=.
            text.Append(CultureInfo.InvariantCulture, $" [{status}]");
        }
        else if (_exitStatus is { } exit)
        {
            text.Append(CultureInfo.InvariantCulture, $" [exit status {exit}]");
        }

        return text.ToString();
    }
}
