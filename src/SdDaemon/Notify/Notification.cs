using System.Runtime.InteropServices;
using System.Text;

namespace SdDaemon;

/// <summary>
/// One notify message for the service manager: one or more <see cref="NotifyState"/> assignments,
/// optionally sent on behalf of another process (<see cref="Pid"/>, SCM_CREDENTIALS) and with
/// file descriptors attached (<see cref="Files"/>, SCM_RIGHTS), like libsystemd's
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_notify.html">sd_pid_notify_with_fds(3)</see>.
/// The message is validated and encoded once, when it is made, so sending the same instance
/// again (a watchdog ping, READY=1) allocates nothing.
/// </summary>
/// <remarks>
/// Sending goes to <c>$NOTIFY_SOCKET</c> through <see cref="NotifyChannel.Default"/>. The result is
/// three-valued (<see cref="NotifyResult"/>): not listening when NOTIFY_SOCKET is unset, sent when
/// queued, failed with an errno. Invalid input (a line break in a value, 254 descriptors, a closed
/// handle, a message over 4096 bytes) is the caller's bug: <see cref="ArgumentException"/> before
/// anything is sent.
/// </remarks>
public sealed class Notification
{
    /// <summary>The manager reads at most PIPE_BUF (4096) bytes of a datagram and drops longer ones (spec N-6).</summary>
    public const int MaxMessageBytes = Interop.Libc.PipeBuf;

    /// <summary>SCM_MAX_FD: at most this many descriptors go with one message (spec N-11).</summary>
    public const int MaxFiles = Interop.Libc.ScmMaxFd;

    private readonly int? _pid;
    private readonly IReadOnlyList<SafeHandle> _files = [];

    /// <summary>A message of the given assignments, one per line, in this order.</summary>
    /// <exception cref="ArgumentException">No assignment, the same key twice (the manager would only
    /// read the first, spec N-8), FDSTOREREMOVE=1 without FDNAME=, or more than 4096 bytes.</exception>
    public Notification(params NotifyState[] states)
    {
        ArgumentNullException.ThrowIfNull(states);
        if (states.Length == 0)
        {
            throw new ArgumentException("A notification needs at least one assignment.", nameof(states));
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        int length = states.Length - 1;
        foreach (NotifyState state in states)
        {
            ArgumentNullException.ThrowIfNull(state, nameof(states));
            if (!keys.Add(state.Key))
            {
                throw new ArgumentException($"{state.Key}= appears twice; the manager reads only the first.", nameof(states));
            }

            length += state.Utf8.Length;
        }

        if (keys.Contains("FDSTOREREMOVE") && !keys.Contains("FDNAME"))
        {
            throw new ArgumentException("FDSTOREREMOVE=1 needs FDNAME= to say which descriptors to remove.", nameof(states));
        }

        if (keys.Contains("MAINPIDFDID") && !keys.Contains("MAINPID"))
        {
            throw new ArgumentException("MAINPIDFDID= needs MAINPID=: the manager reads the id only to check that pid.", nameof(states));
        }

        if (keys.Contains("MAINPIDFD") && keys.Contains("FDSTORE"))
        {
            throw new ArgumentException("MAINPIDFD=1 takes the message's one descriptor as the pidfd; FDSTORE=1 cannot go in the same message.", nameof(states));
        }

        if (keys.Contains("BARRIER") && states.Length > 1)
        {
            throw new ArgumentException("BARRIER=1 must be alone in its message; the manager drops the whole message otherwise.", nameof(states));
        }

        ThrowIfTooLong(length, nameof(states));
        Payload = new byte[length];
        int offset = 0;
        foreach (NotifyState state in states)
        {
            if (offset > 0)
            {
                Payload[offset++] = (byte)'\n';
            }

            state.Utf8.CopyTo(Payload, offset);
            offset += state.Utf8.Length;
        }

        States = states.ToArray();
        StoresFiles = keys.Contains("FDSTORE");
        PassesMainPidFd = keys.Contains("MAINPIDFD");
    }

    private Notification(byte[] payload, NotifyState[] states)
    {
        Payload = payload;
        States = states;
    }

    /// <summary><c>READY=1</c>: start-up finished.</summary>
    public static Notification Ready { get; } = new(NotifyState.Ready);

    /// <summary><c>STOPPING=1</c>: shutdown started.</summary>
    public static Notification Stopping { get; } = new(NotifyState.Stopping);

    /// <summary><c>WATCHDOG=1</c>: the keep-alive ping.</summary>
    public static Notification Watchdog { get; } = new(NotifyState.Watchdog);

    /// <summary><c>WATCHDOG=trigger</c>: make the manager act as if the watchdog had timed out.</summary>
    public static Notification WatchdogTrigger { get; } = new(NotifyState.WatchdogTrigger);

    /// <summary><c>RELOADING=1</c> with <c>MONOTONIC_USEC=</c> of now, as Type=notify-reload (systemd 253)
    /// requires; follow it with <see cref="Ready"/> when the reload is done.</summary>
    public static Notification Reloading() => new(NotifyState.Reloading, NotifyState.MonotonicUsec());

    /// <summary><c>STATUS=text</c> alone.</summary>
    /// <exception cref="ArgumentException">See <see cref="NotifyState.Status"/>.</exception>
    public static Notification Status(string text) => new(NotifyState.Status(text));

    /// <summary>The typed assignments this message was made of.</summary>
    public IReadOnlyList<NotifyState> States { get; }

    /// <summary>The message text, as the manager receives it.</summary>
    public string Text => Encoding.UTF8.GetString(Payload);

    /// <summary>True for FDSTORE=1, which is meaningless without descriptors.</summary>
    internal bool StoresFiles { get; }

    /// <summary>True for MAINPIDFD=1, which the manager ignores unless exactly one descriptor comes with it.</summary>
    internal bool PassesMainPidFd { get; }

    /// <summary>The UTF-8 bytes that go on the wire: no trailing NUL, lines separated by <c>\n</c>.</summary>
    internal byte[] Payload { get; }

    /// <summary>
    /// Send on behalf of this process id (SCM_CREDENTIALS), as sd_pid_notify does; null (the default)
    /// means this process. The kernel lets only privileged senders (CAP_SYS_ADMIN) claim another pid;
    /// if the send with explicit credentials fails, it is retried once with the kernel's own (spec N-10).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public int? Pid
    {
        get => _pid;
        init
        {
            if (value is { } pid)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid, nameof(Pid));
            }

            _pid = value;
        }
    }

    /// <summary>
    /// Descriptors to pass with the message (SCM_RIGHTS), for example with <see cref="NotifyState.FdStore"/>.
    /// The caller keeps ownership: the manager receives duplicates. At most <see cref="MaxFiles"/>.
    /// </summary>
    /// <exception cref="ArgumentException">More than <see cref="MaxFiles"/>, or a null entry.</exception>
    public IReadOnlyList<SafeHandle> Files
    {
        get => _files;
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Files));
            if (value.Count > MaxFiles)
            {
                throw new ArgumentException($"{value.Count} descriptors is more than one message carries ({MaxFiles}, SCM_MAX_FD).", nameof(Files));
            }

            for (int i = 0; i < value.Count; i++)
            {
                if (value[i] is null)
                {
                    throw new ArgumentException($"Files[{i}] is null.", nameof(Files));
                }
            }

            _files = value.ToArray();
        }
    }

    /// <summary>
    /// Sends this message to <c>$NOTIFY_SOCKET</c>. Never blocks longer than
    /// <see cref="NotifyChannel.SendTimeout"/>, never throws for an environmental failure.
    /// </summary>
    /// <param name="unsetEnvironment">Remove NOTIFY_SOCKET from the .NET process environment afterwards,
    /// on every path, so that child processes do not inherit it (native getenv still sees it).</param>
    /// <returns>Not listening (NOTIFY_SOCKET unset), sent, or failed with the errno.</returns>
    /// <exception cref="ArgumentException">A handle in <see cref="Files"/> is closed, or FDSTORE=1 has no descriptor.</exception>
    public NotifyResult Send(bool unsetEnvironment = false) => NotifyChannel.Default.Send(this, unsetEnvironment);

    /// <summary>
    /// Makes <paramref name="pid"/> the unit's main process, race-free where the manager and kernel allow:
    /// <c>MAINPID=pid</c>, <c>MAINPIDFDID=</c> (the pidfd's inode id, on kernels with pidfs, Linux 6.9+) and
    /// <c>MAINPIDFD=1</c> with a pidfd of the process attached, in one message (spec N-17). systemd 257 and
    /// later take the process the pidfd refers to, so a pid reused in between cannot become the main
    /// process; 252-256 ignore the two new keys, close the pidfd and take MAINPID=. Without pidfd_open
    /// (before Linux 5.3) only MAINPID= is sent. Through <see cref="NotifyChannel.Default"/>.
    /// </summary>
    /// <remarks>The manager accepts the change only from a sender NotifyAccess= allows, while the unit is
    /// starting, running, reloading or stopping, and (unless the sender is root) for a process in the
    /// unit's cgroup.</remarks>
    /// <param name="pid">The new main process.</param>
    /// <param name="unsetEnvironment">Remove NOTIFY_SOCKET afterwards, on every path.</param>
    /// <returns>Not listening, sent, or failed: ESRCH when there is no process <paramref name="pid"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pid"/> is not positive.</exception>
    public static NotifyResult SendMainPid(int pid, bool unsetEnvironment = false) =>
        NotifyChannel.Default.SendMainPid(pid, unsetEnvironment);

    /// <summary><see cref="SendMainPid(int, bool)"/> for a started <see cref="System.Diagnostics.Process"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="process"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The process was not started (it has no id).</exception>
    public static NotifyResult SendMainPid(System.Diagnostics.Process process, bool unsetEnvironment = false)
    {
        ArgumentNullException.ThrowIfNull(process);
        return NotifyChannel.Default.SendMainPid(process.Id, unsetEnvironment);
    }

    /// <summary>
    /// sd_notify_barrier(3): waits until the manager has processed every message sent before,
    /// by sending <c>BARRIER=1</c> with a pipe's write end and waiting for the manager to close it.
    /// </summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.</param>
    /// <param name="unsetEnvironment">Remove NOTIFY_SOCKET afterwards, on every path.</param>
    /// <returns>Not listening, sent (and processed), or failed: ETIMEDOUT when the manager did not
    /// close the pipe in time.</returns>
    public static NotifyResult Barrier(TimeSpan timeout, bool unsetEnvironment = false) =>
        NotifyChannel.Default.Barrier(timeout, unsetEnvironment);

    /// <inheritdoc />
    public override string ToString() => Text;

    private static void ThrowIfTooLong(int length, string parameterName)
    {
        if (length > MaxMessageBytes)
        {
            throw new ArgumentException($"The message is {length} bytes; the manager drops datagrams over {MaxMessageBytes} bytes.", parameterName);
        }
    }
}
