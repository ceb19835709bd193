namespace SdDaemon.Logging;

/// <summary>Where and how <see cref="JournalLoggerProvider"/> writes.</summary>
public enum JournalOutput
{
    /// <summary>
    /// Decided once when the provider starts: stderr connected to journald
    /// (<see cref="JournalStreamCheck.IsStandardErrorJournal"/>) means <see cref="Native"/>; otherwise a
    /// process under a service manager (<see cref="JournalStreamCheck.IsUnderServiceManager"/>: syslog,
    /// a file, kmsg) gets <see cref="PrefixedStderr"/>, and an interactive run gets <see cref="PlainStderr"/>.
    /// </summary>
    Auto = 0,

    /// <summary><c>&lt;N&gt;</c>-prefixed lines on stderr (sd-daemon(3)); journald parses the prefix.</summary>
    PrefixedStderr = 1,

    /// <summary>Structured entries over journald's native socket; prefixed stderr when journald is not running.</summary>
    Native = 2,

    /// <summary>Plain lines on stderr with the level spelled out (<c>warning: ...</c>), for a person.</summary>
    PlainStderr = 3,
}
