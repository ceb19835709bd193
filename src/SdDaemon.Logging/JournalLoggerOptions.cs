namespace SdDaemon.Logging;

/// <summary>
/// Options of <see cref="JournalLoggerProvider"/>; set them with
/// <c>builder.Logging.AddJournal(o =&gt; ...)</c> or any <c>Configure&lt;JournalLoggerOptions&gt;</c>.
/// </summary>
public sealed class JournalLoggerOptions
{
    /// <summary>Where records go; see <see cref="JournalOutput"/>. Default <see cref="JournalOutput.Auto"/>.</summary>
    public JournalOutput Output { get; set; } = JournalOutput.Auto;

    /// <summary>Whether the scopes of <c>ILogger.BeginScope</c> are written: on the first line of a stderr
    /// record (<c>Category[7] =&gt; scope =&gt; scope: message</c>), and as fields of a native entry
    /// (key/value scopes as one field per key, others as <c>SCOPE=</c>). Default false.</summary>
    public bool IncludeScopes { get; set; }

    /// <summary>A .NET date format for a timestamp at the start of stderr records, or null (the
    /// default) for none: journald stamps every record itself. Native entries never carry one.</summary>
    public string? TimestampFormat { get; set; }

    /// <summary>Whether that timestamp is UTC rather than local time.</summary>
    public bool UseUtcTimestamp { get; set; }

    /// <summary><c>SYSLOG_IDENTIFIER=</c> of native entries; null (the default) is the program's name.
    /// Records on stderr get the identifier the service manager gives the unit (<c>SyslogIdentifier=</c>).</summary>
    /// <remarks>Native entries do not go through the unit's stream, so a unit's
    /// <c>SyslogIdentifier=</c> (systemd.exec(5)) does not apply to them: with
    /// <see cref="JournalOutput.Native"/> (also when <see cref="JournalOutput.Auto"/> chooses it) the
    /// entries carry the program's name instead, and <c>journalctl -t</c> with the unit's identifier
    /// no longer finds them, unless this option is set to the same identifier. systemd passes no
    /// environment variable with the unit's <c>SyslogIdentifier=</c>, so the provider cannot pick it up
    /// by itself.</remarks>
    public string? SyslogIdentifier { get; set; }

    /// <summary>journald's <c>LineMax=</c> (journald.conf(5)): longer stderr lines are split into several
    /// records deliberately. Default 48 KiB; at least 16.</summary>
    public int LineMax { get; set; } = StderrLogger.DefaultLineMax;

    /// <summary>Whether native entries carry the message template (<c>MESSAGE_TEMPLATE=</c>) and one
    /// field per named template argument. Default true.</summary>
    public bool IncludeTemplateFields { get; set; } = true;
}
