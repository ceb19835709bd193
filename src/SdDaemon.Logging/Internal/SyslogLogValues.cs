using System.Collections;

namespace SdDaemon.Logging.Internal;

/// <summary>The state <see cref="Microsoft.Extensions.Logging.SyslogLoggerExtensions"/> log with: the
/// template's values like MEL's own FormattedLogValues (names, then <c>{OriginalFormat}</c>) and the
/// syslog priority that <see cref="JournalLogger"/> uses instead of the level's.</summary>
internal sealed class SyslogLogValues : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string OriginalFormatKey = "{OriginalFormat}";

    private readonly MessageTemplate _template;
    private readonly object?[] _args;
    private string? _formatted;

    public SyslogLogValues(SyslogPriority priority, string? message, object?[]? args)
    {
        Priority = priority;
        _template = MessageTemplate.Get(message ?? "[null]");
        _args = args ?? [];
    }

    public SyslogPriority Priority { get; }

    public int Count => _template.Names.Length + 1;

    public KeyValuePair<string, object?> this[int index]
    {
        get
        {
            if (index == _template.Names.Length)
            {
                return new(OriginalFormatKey, _template.Text);
            }

            if ((uint)index > (uint)_template.Names.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }

            return new(_template.Names[index], index < _args.Length ? _args[index] : null);
        }
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => _formatted ??= _template.Format(_args);

    public static string Format(SyslogLogValues state, Exception? exception) => state.ToString();
}
