using System.Text;

namespace SdDaemon;

/// <summary>
/// One <c>KEY=VALUE</c> assignment of the notify protocol, validated when it is made and encoded
/// to UTF-8 once (see <see href="https://www.freedesktop.org/software/systemd/man/sd_notify.html">sd_notify(3)</see>
/// for what each key means). Values can never carry <c>\n</c>, <c>\r</c> or NUL (the manager
/// would split or drop the message, spec N-6, N-7) nor end in a lone backslash (it would escape
/// the separator). Invalid input throws <see cref="ArgumentException"/>.
/// </summary>
public sealed class NotifyState
{
    private NotifyState(string key, string value)
    {
        Key = key;
        Value = value;
        Utf8 = Encoding.UTF8.GetBytes(key + "=" + value);
    }

    /// <summary>The key, for example <c>STATUS</c>.</summary>
    public string Key { get; }

    /// <summary>The value, for example <c>serving</c>.</summary>
    public string Value { get; }

    /// <summary><c>KEY=VALUE</c> in UTF-8: what goes on the wire.</summary>
    internal byte[] Utf8 { get; }

    /// <summary><c>READY=1</c>: start-up (or a reload) finished.</summary>
    public static NotifyState Ready { get; } = new("READY", "1");

    /// <summary><c>RELOADING=1</c> (systemd 217): a reload starts; send <see cref="Ready"/> when it is done.
    /// With Type=notify-reload (systemd 253) it must go with <see cref="MonotonicUsec()"/>; see <see cref="Notification.Reloading"/>.</summary>
    public static NotifyState Reloading { get; } = new("RELOADING", "1");

    /// <summary><c>STOPPING=1</c> (systemd 217): shutdown started. Since systemd 259 it is final: no later
    /// READY=1 takes the unit back to running, and if the process has not exited within TimeoutStopSec=
    /// of it the manager kills what remains. A lame duck (SdDaemon.Hosting's DrainDelay) that sends it
    /// first and serves on has TimeoutStopSec= for the drain and the shutdown together.</summary>
    public static NotifyState Stopping { get; } = new("STOPPING", "1");

    /// <summary><c>WATCHDOG=1</c>: the keep-alive ping.</summary>
    public static NotifyState Watchdog { get; } = new("WATCHDOG", "1");

    /// <summary><c>WATCHDOG=trigger</c> (systemd 243): fail the watchdog now, as if it had timed out.</summary>
    public static NotifyState WatchdogTrigger { get; } = new("WATCHDOG", "trigger");

    /// <summary><c>FDSTORE=1</c> (systemd 219): store the attached descriptors in the manager's fd store
    /// (needs FileDescriptorStoreMax= &gt; 0 in the unit; the default is 0).</summary>
    public static NotifyState FdStore { get; } = new("FDSTORE", "1");

    /// <summary><c>FDSTOREREMOVE=1</c> (systemd 236): remove the stored descriptors named by <see cref="FdName"/>.</summary>
    public static NotifyState FdStoreRemove { get; } = new("FDSTOREREMOVE", "1");

    /// <summary><c>FDPOLL=0</c> (systemd 246): do not drop stored descriptors when they report POLLHUP or POLLERR.</summary>
    public static NotifyState FdPollDisabled { get; } = new("FDPOLL", "0");

    /// <summary><c>RESTART_RESET=1</c> (systemd 258): reset the unit's restart counter (NRestarts), so that
    /// with RestartSteps= and RestartMaxDelaySec= the next restart waits RestartSec= again. Send it once the
    /// service is healthy after a restart. Older managers ignore it (spec N-8).</summary>
    public static NotifyState RestartReset { get; } = new("RESTART_RESET", "1");

    /// <summary><c>BARRIER=1</c> (systemd 246): only ever sent alone, by <see cref="Notification.Barrier"/>.</summary>
    internal static NotifyState Barrier { get; } = new("BARRIER", "1");

    /// <summary><c>STATUS=text</c>: one line of status text, shown by <c>systemctl status</c>. Empty clears it.</summary>
    /// <exception cref="ArgumentException">The text has a line break, a NUL, a lone trailing backslash,
    /// invalid UTF-16, or is longer than the manager accepts (16 KiB of UTF-8).</exception>
    public static NotifyState Status(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        NotifyValueRules.ValidateValue(text, nameof(text));
        if (Encoding.UTF8.GetByteCount(text) > NotifyValueRules.StatusMaxBytes)
        {
            throw new ArgumentException($"STATUS= text is longer than the manager accepts ({NotifyValueRules.StatusMaxBytes} bytes of UTF-8).", nameof(text));
        }

        return new NotifyState("STATUS", text);
    }

    /// <summary>
    /// <c>STATUS=</c> from any text, such as an exception's message, where <see cref="Status"/> would
    /// throw: line breaks and NUL characters become spaces, a lone surrogate becomes U+FFFD, a backslash
    /// is doubled (the manager reads a backslash as an escape of the next character, spec N-7, so it shows
    /// one), and the text is cut to <see cref="StatusFromMaxBytes"/> bytes of UTF-8 so that it fits in a
    /// message with other assignments.
    /// </summary>
    public static NotifyState StatusFrom(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var value = new StringBuilder(text.Length);
        int bytes = 0;
        foreach (Rune rune in Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text)).EnumerateRunes())
        {
            string piece = rune.Value switch { '\n' or '\r' or 0 => " ", '\\' => "\\\\", _ => rune.ToString() };
            bytes += Encoding.UTF8.GetByteCount(piece);
            if (bytes > StatusFromMaxBytes)
            {
                break;
            }

            value.Append(piece);
        }

        return new NotifyState("STATUS", value.ToString());
    }

    /// <summary>The most UTF-8 bytes <see cref="StatusFrom"/> keeps of a text.</summary>
    public const int StatusFromMaxBytes = 1000;

    /// <summary><c>ERRNO=n</c>: the daemon failed with this errno-style error code.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="errno"/> is negative.</exception>
    public static NotifyState Errno(int errno)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(errno);
        return new NotifyState("ERRNO", Decimal((ulong)errno));
    }

    /// <summary><c>BUSERROR=name</c>: the daemon failed with this D-Bus error name (for example <c>org.freedesktop.DBus.Error.TimedOut</c>).</summary>
    /// <exception cref="ArgumentException">Not a valid D-Bus error name.</exception>
    public static NotifyState BusError(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!NotifyValueRules.IsValidBusErrorName(name))
        {
            throw new ArgumentException($"'{name}' is not a D-Bus error name (two or more dot-separated elements of [A-Za-z0-9_], not starting with a digit, at most 255 characters).", nameof(name));
        }

        return new NotifyState("BUSERROR", name);
    }

    /// <summary><c>VARLINKERROR=name</c> (systemd 257): the daemon failed with this Varlink error, for
    /// example <c>org.varlink.service.InvalidParameter</c>; the manager shows it as StatusVarlinkError.
    /// Older managers ignore it (spec N-8).</summary>
    /// <exception cref="ArgumentException">Not a Varlink error name: an interface name (two or more
    /// dot-separated elements of letters, digits and inner dashes, starting with a letter) followed by
    /// <c>.</c> and a name of letters and digits starting with an upper-case letter.</exception>
    public static NotifyState VarlinkError(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!NotifyValueRules.IsValidVarlinkErrorName(name))
        {
            throw new ArgumentException($"'{name}' is not a Varlink error name (an interface name such as org.example.service, then '.' and a name such as InvalidParameter, at most 255 characters).", nameof(name));
        }

        return new NotifyState("VARLINKERROR", name);
    }

    /// <summary><c>EXIT_STATUS=n</c> (systemd 254): the exit status the daemon is about to exit with (informational).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="status"/> is not 0-255.</exception>
    public static NotifyState ExitStatus(int status)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(status);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 255);
        return new NotifyState("EXIT_STATUS", Decimal((ulong)status));
    }

    /// <summary><c>MAINPID=pid</c>: the unit's main process is now <paramref name="pid"/>
    /// (it must be in the unit's cgroup unless the sender is root).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pid"/> is not positive.</exception>
    public static NotifyState MainPid(int pid)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        return new NotifyState("MAINPID", Decimal((ulong)pid));
    }

    /// <summary><c>MAINPIDFDID=id</c> (systemd 257): the pidfd inode id of the process named by
    /// <see cref="MainPid"/>, so that the manager refuses the change when that pid now belongs to another
    /// process (spec N-17). Only read together with MAINPID=; older managers ignore it (spec N-8).
    /// <see cref="Notification.SendMainPid(int, bool)"/> fills it in.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is 0 (no pidfd has it).</exception>
    public static NotifyState MainPidFdId(ulong id)
    {
        ArgumentOutOfRangeException.ThrowIfZero(id);
        return new NotifyState("MAINPIDFDID", Decimal(id));
    }

    /// <summary><c>MAINPIDFD=1</c> (systemd 257): the new main process is the one whose pidfd is the
    /// only descriptor in <see cref="Notification.Files"/>; it takes precedence over MAINPID= (spec N-17).
    /// Older managers ignore the key and close the pidfd. <see cref="Notification.SendMainPid(int, bool)"/>
    /// sends it with a pidfd it opens.</summary>
    public static NotifyState MainPidFd { get; } = new("MAINPIDFD", "1");

    /// <summary><c>WATCHDOG_USEC=n</c> (systemd 233): change the watchdog timeout at run time.
    /// <see cref="TimeSpan.Zero"/> or <see cref="Timeout.InfiniteTimeSpan"/> disable it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative (other than infinite).</exception>
    public static NotifyState WatchdogUsec(TimeSpan timeout) =>
        new("WATCHDOG_USEC", timeout == Timeout.InfiniteTimeSpan
            ? Decimal(ulong.MaxValue)
            : Decimal(ToMicroseconds(timeout, nameof(timeout))));

    /// <summary><c>EXTEND_TIMEOUT_USEC=n</c> (systemd 236): the current start, stop or reload timeout
    /// ends <paramref name="extension"/> from now instead (rounded up to whole microseconds).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public static NotifyState ExtendTimeout(TimeSpan extension)
    {
        ulong usec = ToMicroseconds(extension, nameof(extension));
        ArgumentOutOfRangeException.ThrowIfZero(usec, nameof(extension));
        return new NotifyState("EXTEND_TIMEOUT_USEC", Decimal(usec));
    }

    /// <summary><c>MONOTONIC_USEC=n</c>: CLOCK_MONOTONIC now, in microseconds; goes with <see cref="Reloading"/>.</summary>
    public static NotifyState MonotonicUsec() => MonotonicUsec(Interop.Libc.MonotonicMicroseconds());

    /// <summary><c>MONOTONIC_USEC=n</c> with a given CLOCK_MONOTONIC timestamp in microseconds.</summary>
    public static NotifyState MonotonicUsec(ulong microseconds) =>
        new("MONOTONIC_USEC", Decimal(microseconds));

    /// <summary><c>FDNAME=name</c>: the name of the descriptors sent with <see cref="FdStore"/> (default
    /// <c>stored</c>), or of those <see cref="FdStoreRemove"/> removes. It comes back in LISTEN_FDNAMES.</summary>
    /// <exception cref="ArgumentException">Empty, longer than 255 characters, non-ASCII, a control character or <c>:</c>
    /// (the manager would ignore it).</exception>
    public static NotifyState FdName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!NotifyValueRules.IsValidFdName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid FDNAME: it must be 1-255 printable ASCII characters without ':'.", nameof(name));
        }

        NotifyValueRules.ValidateValue(name, nameof(name));
        return new NotifyState("FDNAME", name);
    }

    /// <summary><c>NOTIFYACCESS=</c> (systemd 254): change who may send notifications for the unit.</summary>
    public static NotifyState NotifyAccessChange(NotifyAccess access) => new("NOTIFYACCESS", access switch
    {
        NotifyAccess.None => "none",
        NotifyAccess.Main => "main",
        NotifyAccess.Exec => "exec",
        NotifyAccess.All => "all",
        _ => throw new ArgumentOutOfRangeException(nameof(access), access, "Unknown NotifyAccess value."),
    });

    /// <summary>Any <c>KEY=VALUE</c> assignment, for keys this library has no typed form for yet, and for
    /// private keys (<c>X_</c>...; the manager ignores keys it does not know, spec N-8). The key must be
    /// <c>[A-Z0-9_]+</c>; the value obeys the same rules as every other value. The library's one raw form.</summary>
    /// <exception cref="ArgumentException">Invalid key or value.</exception>
    public static NotifyState Assignment(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (!NotifyValueRules.IsValidKey(key))
        {
            throw new ArgumentException($"'{key}' is not a notify key: it must be non-empty and contain only A-Z, 0-9 and _.", nameof(key));
        }

        if (key == "BARRIER")
        {
            throw new ArgumentException("BARRIER= is sent only alone, by Notification.Barrier().", nameof(key));
        }

        NotifyValueRules.ValidateValue(value, nameof(value));
        return new NotifyState(key, value);
    }

    /// <inheritdoc />
    public override string ToString() => Key + "=" + Value;

    /// <summary>
    /// <paramref name="value"/> in decimal ASCII digits. Written out rather than ToString(CultureInfo.InvariantCulture):
    /// touching CultureInfo, even the invariant one, makes the runtime load ICU (libicuuc, libicui18n,
    /// 30 MB of libicudata) unless the app is built with InvariantGlobalization; in a NativeAOT daemon
    /// that is most of its start-up time and memory. The notify send path touches no culture (spec N-19).
    /// </summary>
    private static string Decimal(ulong value)
    {
        Span<char> digits = stackalloc char[20]; // ulong.MaxValue has 20 digits
        int start = digits.Length;
        do
        {
            digits[--start] = (char)('0' + (int)(value % 10));
            value /= 10;
        }
        while (value != 0);

        return new string(digits[start..]);
    }

    private static ulong ToMicroseconds(TimeSpan span, string parameterName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(span, TimeSpan.Zero, parameterName);
        // TimeSpan ticks are 100 ns; round up so that a small positive span never becomes 0.
        return ((ulong)span.Ticks + 9UL) / 10UL;
    }
}
