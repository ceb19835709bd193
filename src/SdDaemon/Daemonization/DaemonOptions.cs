using System.Runtime.InteropServices;

namespace SdDaemon;

/// <summary>
/// What <see cref="Daemon.Start"/> does to make the daemon, step by step as
/// <see href="https://www.freedesktop.org/software/systemd/man/daemon.html">daemon(7)</see> lists
/// the SysV steps. The same options must be built in every stage (the program re-executes itself
/// and runs its <c>Main</c> again), so build them from the command line, not from anything that
/// changes between the stages.
/// </summary>
public sealed class DaemonOptions
{
    private TimeSpan _startTimeout = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The PID file (step 12), or null for none. Relative paths are taken from the original
    /// working directory; its directory must be writable by the starting process. Written with the
    /// daemon's pid (mode 0644) before the original process exits and locked (an OFD lock) for the
    /// daemon's whole life through a read-only descriptor, the only one the daemon keeps; a file
    /// no daemon holds (a reader's lock does not count) is stale and replaced; a symbolic link or
    /// anything but a regular file at the path is refused; removed on clean exit.
    /// </summary>
    public string? PidFile { get; set; }

    /// <summary>
    /// Descriptors opened in the original process that the daemon keeps (step 1 closes all others
    /// above 2): a bound socket, a locked file. They keep their numbers, their open file
    /// descriptions and so their locks, through every stage; the daemon finds them in
    /// <see cref="DaemonContext.KeptFiles"/>, close-on-exec again. Only read in the original stage.
    /// </summary>
    public IList<SafeHandle> KeepFiles { get; } = new List<SafeHandle>();

    /// <summary>The daemon's working directory (step 11), inside <see cref="RootDirectory"/> if set. Default <c>/</c>.</summary>
    public string WorkingDirectory { get; set; } = "/";

    /// <summary>The daemon's umask (step 10). Default none (umask 0), as daemon(7) says; 0022 or 0027 are common.</summary>
    public UnixFileMode Umask { get; set; } = UnixFileMode.None;

    /// <summary>chroot(2) into this directory (after the PID file and log file are open), or null. Needs root.</summary>
    public string? RootDirectory { get; set; }

    /// <summary>
    /// Drop privileges to this user (step 13): initgroups (its supplementary groups), setgid (its
    /// primary group, or <see cref="Group"/>), setuid, in that order. The daemon refuses to run if
    /// any step fails or if setuid(0) still succeeds afterwards. Null: keep the current user.
    /// </summary>
    public string? User { get; set; }

    /// <summary>The group to switch to (with no supplementary groups when <see cref="User"/> is null), or null for the user's primary group.</summary>
    public string? Group { get; set; }

    /// <summary>Where the daemon's stdout and stderr go (step 9; stdin is always /dev/null). Default <see cref="DaemonOutput.Null"/>.</summary>
    public DaemonOutput Output { get; set; } = DaemonOutput.Null;

    /// <summary>
    /// Sanitize the environment (step 4): the daemon gets only PATH, the variables named in
    /// <see cref="KeepEnvironment"/> and the runtime's own (DOTNET_*, since they decide how the
    /// daemon's runtime starts), plus NOTIFY_SOCKET for its readiness. Default false: the whole
    /// environment is inherited.
    /// </summary>
    public bool SanitizeEnvironment { get; set; }

    /// <summary>Variables kept by <see cref="SanitizeEnvironment"/>. Default LANG, LC_ALL, TZ.</summary>
    public IList<string> KeepEnvironment { get; } = new List<string> { "LANG", "LC_ALL", "TZ" };

    /// <summary>
    /// How long the original process waits for READY=1 (steps 14-15) before it kills the daemon and
    /// fails; the daemon may extend it with EXTEND_TIMEOUT_USEC=, as under systemd. Default 90 s
    /// (systemd's DefaultTimeoutStartSec). <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Zero or negative (other than infinite).</exception>
    public TimeSpan StartTimeout
    {
        get => _startTimeout;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero, nameof(StartTimeout));
            }

            _startTimeout = value;
        }
    }

    /// <summary>Checks what can be checked without side effects.</summary>
    /// <exception cref="ArgumentException">An invalid combination, with the reason.</exception>
    internal void Validate()
    {
        if (PidFile is not null && (PidFile.Length == 0 || PidFile.EndsWith('/') || PidFile.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"PidFile '{PidFile}' is not a file path.", nameof(PidFile));
        }

        if (string.IsNullOrEmpty(WorkingDirectory) || WorkingDirectory.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("WorkingDirectory must be a directory path.", nameof(WorkingDirectory));
        }

        if (RootDirectory is not null && (!RootDirectory.StartsWith('/') || RootDirectory.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"RootDirectory '{RootDirectory}' must be an absolute path.", nameof(RootDirectory));
        }

        if (RootDirectory is not null && !WorkingDirectory.StartsWith('/'))
        {
            throw new ArgumentException("With RootDirectory, WorkingDirectory must be absolute (it is taken inside the new root).", nameof(WorkingDirectory));
        }

        if (((int)Umask & ~0x1FF) != 0)
        {
            throw new ArgumentException("Umask takes only permission bits (0-0777).", nameof(Umask));
        }

        if (User is { Length: 0 } || Group is { Length: 0 })
        {
            throw new ArgumentException("User and Group must be names, not empty.", User is { Length: 0 } ? nameof(User) : nameof(Group));
        }

        foreach (SafeHandle file in KeepFiles)
        {
            if (file is null || file.IsInvalid || file.IsClosed)
            {
                throw new ArgumentException("KeepFiles holds a null, invalid or closed handle.", nameof(KeepFiles));
            }

            long fd = file.DangerousGetHandle().ToInt64();
            if (fd is >= 0 and <= 2)
            {
                throw new ArgumentException($"KeepFiles holds fd {fd}: stdin, stdout and stderr are set by Output, not kept.", nameof(KeepFiles));
            }
        }

        foreach (string name in KeepEnvironment)
        {
            if (string.IsNullOrEmpty(name) || name.Contains('=', StringComparison.Ordinal))
            {
                throw new ArgumentException($"KeepEnvironment holds '{name}', not a variable name.", nameof(KeepEnvironment));
            }
        }

        Output.Validate();
    }
}

/// <summary>Where a daemon's stdout and stderr go (daemon(7) step 9).</summary>
public sealed class DaemonOutput
{
    private DaemonOutput(DaemonOutputKind kind, string? path, UnixFileMode mode)
    {
        Kind = kind;
        Path = path;
        Mode = mode;
    }

    /// <summary>/dev/null, as daemon(7) says.</summary>
    public static DaemonOutput Null { get; } = new(DaemonOutputKind.Null, null, UnixFileMode.None);

    /// <summary>A pipe whose read end the daemon gets as <see cref="DaemonContext.CapturedOutput"/>, to forward to its own logger.</summary>
    public static DaemonOutput Capture { get; } = new(DaemonOutputKind.Capture, null, UnixFileMode.None);

    /// <summary>Appends to <paramref name="path"/> (O_APPEND, O_NOCTTY), created with <paramref name="mode"/> if missing
    /// (the umask applies, as for any creat). Opened before chroot and before the privilege drop.</summary>
    public static DaemonOutput AppendToFile(string path, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new DaemonOutput(DaemonOutputKind.AppendToFile, path, mode);
    }

    /// <summary>Which of the three.</summary>
    public DaemonOutputKind Kind { get; }

    /// <summary>The log file for <see cref="DaemonOutputKind.AppendToFile"/>.</summary>
    public string? Path { get; }

    /// <summary>The creation mode for <see cref="DaemonOutputKind.AppendToFile"/>.</summary>
    public UnixFileMode Mode { get; }

    internal void Validate()
    {
        if (Kind == DaemonOutputKind.AppendToFile && (((int)Mode & ~0xFFF) != 0 || Path!.Contains('\0', StringComparison.Ordinal)))
        {
            throw new ArgumentException("The log file needs a path and permission bits only.", nameof(DaemonOptions.Output));
        }
    }

    /// <inheritdoc />
    public override string ToString() => Kind == DaemonOutputKind.AppendToFile ? $"append:{Path}" : Kind.ToString();
}

/// <summary>The kinds of <see cref="DaemonOutput"/>.</summary>
public enum DaemonOutputKind
{
    /// <summary>/dev/null.</summary>
    Null,

    /// <summary>Appended to a file.</summary>
    AppendToFile,

    /// <summary>A pipe the daemon reads.</summary>
    Capture,
}
