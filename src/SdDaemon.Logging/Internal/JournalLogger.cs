using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Text;

namespace SdDaemon.Logging.Internal;

/// <summary>The <see cref="ILogger"/> of <see cref="JournalLoggerProvider"/> for one category.</summary>
internal sealed class JournalLogger(JournalLoggerProvider provider, string category) : ILogger
{
    // The logger's own fields; a template argument or scope key mapped onto one of them gets ARG_ in front.
    private static readonly (byte[] Name, byte[] Renamed)[] s_reserved = Array.ConvertAll(
        new[]
        {
            "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "LOGGER_CATEGORY", "EVENT_ID", "EVENT_NAME",
            "MESSAGE_TEMPLATE", "EXCEPTION_TYPE", "EXCEPTION_MESSAGE", "EXCEPTION_STACKTRACE", "SCOPE",
        },
        static (string name) => (Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes("ARG_" + name)));

    private readonly byte[] _category = Encoding.UTF8.GetBytes(category);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => provider.Scopes.Push(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel))
        {
            return;
        }

        ArgumentNullException.ThrowIfNull(formatter);
        JournalLoggerProvider.Settings settings = provider.Current;
        SyslogPriority priority = state is SyslogLogValues values
            ? values.Priority
            : SyslogLoggerExtensions.ToSyslogPriority(logLevel);
        string message = formatter(state, exception) ?? "";

        // With journald known to be absent the record is built once, as stderr text, not first as an entry.
        if (settings.Output == JournalOutput.Native && !provider.Native.KnownAbsent && WriteNative(settings, priority, eventId, state, exception, message))
        {
            return;
        }

        WriteStderr(settings, priority, eventId, exception, message);
    }

    private void WriteStderr(JournalLoggerProvider.Settings settings, SyslogPriority priority, EventId eventId, Exception? exception, string message)
    {
        bool plain = settings.Output == JournalOutput.PlainStderr;
        StderrLogger target = plain ? settings.Plain : settings.Prefixed;
        PooledBuffer text = ScratchBuffers.RentSecond();
        try
        {
            if (plain)
            {
                text.Write(PriorityName(priority));
                text.Write(": "u8);
            }

            if (settings.TimestampFormat is { } format)
            {
                Span<char> stamp = stackalloc char[128];
                DateTimeOffset now = settings.UseUtcTimestamp ? DateTimeOffset.UtcNow : DateTimeOffset.Now;
                if (now.TryFormat(stamp, out int length, format, CultureInfo.InvariantCulture))
                {
                    text.WriteUtf8(stamp[..length]);
                }
                else
                {
                    text.WriteUtf8(now.ToString(format, CultureInfo.InvariantCulture));
                }

                text.WriteByte((byte)' ');
            }

            text.Write(_category);
            if (eventId.Id != 0)
            {
                text.WriteByte((byte)'[');
                eventId.Id.TryFormat(text.GetSpan(11), out int written, default, CultureInfo.InvariantCulture);
                text.Advance(written);
                text.WriteByte((byte)']');
            }

            if (settings.IncludeScopes)
            {
                provider.Scopes.ForEachScope(static (scope, buffer) =>
                {
                    buffer.Write(" => "u8);
                    WriteScope(buffer, scope);
                }, text);
            }

            text.Write(": "u8);
            text.WriteUtf8(message);
            if (exception is not null)
            {
                text.WriteByte((byte)'\n');
                text.WriteUtf8(exception.ToString());
            }

            target.Log(priority, text.Written);
        }
        finally
        {
            ScratchBuffers.ReturnSecond(text);
        }
    }

    private bool WriteNative<TState>(JournalLoggerProvider.Settings settings, SyslogPriority priority, EventId eventId, TState state, Exception? exception, string message)
    {
        PooledBuffer buffer = ScratchBuffers.RentSecond();
        var entry = new JournalEntry(buffer);
        try
        {
            if (exception is null)
            {
                entry.AddText("MESSAGE"u8, message);
            }
            else
            {
                entry.AddText("MESSAGE"u8, string.Concat(message, "\n", exception.ToString()));
            }

            entry.AddPriority(priority);
            entry.AddRaw("SYSLOG_IDENTIFIER"u8, settings.Identifier);
            entry.AddRaw("LOGGER_CATEGORY"u8, _category);
            if (eventId.Id != 0 || eventId.Name is not null)
            {
                entry.AddNumber("EVENT_ID"u8, eventId.Id);
                if (eventId.Name is not null)
                {
                    entry.AddText("EVENT_NAME"u8, eventId.Name);
                }
            }

            if (settings.IncludeTemplateFields && state is IReadOnlyList<KeyValuePair<string, object?>> list)
            {
                for (int i = 0; i < list.Count; i++)
                {
                    AddProperty(entry, list[i], template: true);
                }
            }

            if (exception is not null)
            {
                entry.AddText("EXCEPTION_TYPE"u8, exception.GetType().FullName);
                entry.AddText("EXCEPTION_MESSAGE"u8, exception.Message);
                if (exception.StackTrace is { } stackTrace)
                {
                    entry.AddText("EXCEPTION_STACKTRACE"u8, stackTrace);
                }
            }

            if (settings.IncludeScopes)
            {
                provider.Scopes.ForEachScope(static (scope, entry) =>
                {
                    if (scope is IReadOnlyList<KeyValuePair<string, object?>> pairs)
                    {
                        for (int i = 0; i < pairs.Count; i++)
                        {
                            AddProperty(entry, pairs[i], template: false);
                        }
                    }
                    else if (scope is IEnumerable<KeyValuePair<string, object?>> sequence)
                    {
                        foreach (KeyValuePair<string, object?> pair in sequence)
                        {
                            AddProperty(entry, pair, template: false);
                        }
                    }
                    else if (scope is not null)
                    {
                        entry.AddText("SCOPE"u8, scope is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : scope.ToString());
                    }
                }, entry);
            }

            return provider.Native.Send(entry).IsSent;
        }
        finally
        {
            ScratchBuffers.ReturnSecond(buffer);
        }
    }

    /// <summary>A scope as text: its own ToString (a formatted BeginScope template), or, for a plain
    /// collection of key/value pairs (a dictionary) whose ToString is only its type name,
    /// <c>Key=value</c> pairs separated by spaces.</summary>
    private static void WriteScope(PooledBuffer buffer, object? scope)
    {
        if (scope is IFormattable formattable)
        {
            buffer.WriteUtf8(formattable.ToString(null, CultureInfo.InvariantCulture));
            return;
        }

        string? text = scope?.ToString();
        if (scope is IEnumerable<KeyValuePair<string, object?>> pairs && text == scope.GetType().ToString())
        {
            bool first = true;
            foreach (KeyValuePair<string, object?> pair in pairs)
            {
                if (!first)
                {
                    buffer.WriteByte((byte)' ');
                }

                first = false;
                buffer.WriteUtf8(pair.Key);
                buffer.WriteByte((byte)'=');
                buffer.WriteUtf8(pair.Value is IFormattable f ? f.ToString(null, CultureInfo.InvariantCulture) : pair.Value?.ToString());
            }

            return;
        }

        buffer.WriteUtf8(text);
    }

    private static void AddProperty(JournalEntry entry, KeyValuePair<string, object?> pair, bool template)
    {
        if (pair.Key == SyslogLogValues.OriginalFormatKey)
        {
            if (template)
            {
                entry.AddText("MESSAGE_TEMPLATE"u8, pair.Value as string);
            }

            return;
        }

        entry.AddObject(ArgumentName(pair.Key), pair.Value);
    }

    /// <summary>The field name of a template argument or scope key: JournalField's mapping (and its cache),
    /// with <c>ARG_</c> in front when it would land on one of the logger's own fields (none is over 60
    /// characters, so the prefixed name stays within the limit).</summary>
    private static byte[] ArgumentName(string key)
    {
        byte[] name = JournalField.MapNameUtf8(key);
        foreach ((byte[] reserved, byte[] renamed) in s_reserved)
        {
            if (name.AsSpan().SequenceEqual(reserved))
            {
                return renamed;
            }
        }

        return name;
    }

    private static ReadOnlySpan<byte> PriorityName(SyslogPriority priority) => priority switch
    {
        SyslogPriority.Emerg => "emerg"u8,
        SyslogPriority.Alert => "alert"u8,
        SyslogPriority.Crit => "crit"u8,
        SyslogPriority.Err => "err"u8,
        SyslogPriority.Warning => "warning"u8,
        SyslogPriority.Notice => "notice"u8,
        SyslogPriority.Info => "info"u8,
        _ => "debug"u8,
    };
}
