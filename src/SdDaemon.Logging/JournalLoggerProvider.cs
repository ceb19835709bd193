using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SdDaemon.Logging.Internal;

namespace SdDaemon.Logging;

/// <summary>
/// The Microsoft.Extensions.Logging provider for journald: <c>&lt;N&gt;</c>-prefixed stderr lines
/// (<see href="https://www.freedesktop.org/software/systemd/man/sd-daemon.html">sd-daemon(3)</see>), or
/// structured entries over the native protocol
/// (<see href="https://www.freedesktop.org/software/systemd/man/systemd-journald.service.html">systemd-journald.service(8)</see>),
/// or plain lines for a terminal; see <see cref="JournalOutput"/>. Add it with
/// <c>builder.Logging.AddJournal()</c>.
/// </summary>
/// <remarks>
/// <para>Levels map to priorities as Trace and Debug 7, Information 6, Warning 4, Error 3, Critical 2;
/// <see cref="SyslogLoggerExtensions.LogNotice(ILogger, string?, object?[])"/>, <c>LogAlert</c> and
/// <c>LogEmergency</c> reach 5, 1 and 0.</para>
/// <para>A stderr record is <c>[timestamp ]Category[EventId][ =&gt; scope...]: message</c>, then the
/// exception (with its inner exceptions and stack traces) on the following lines, every line with the
/// priority prefix. The event id is written when it is not 0.</para>
/// <para>A native entry has <c>MESSAGE</c> (the exception appended), <c>PRIORITY</c>,
/// <c>SYSLOG_IDENTIFIER</c>, <c>LOGGER_CATEGORY</c>, <c>EVENT_ID</c>/<c>EVENT_NAME</c>,
/// <c>MESSAGE_TEMPLATE</c> and a field per named template argument (names mapped by
/// <see cref="JournalField.MapName"/>; an argument whose name maps onto one of these fields gets
/// <c>ARG_</c> in front), <c>EXCEPTION_TYPE</c>/<c>EXCEPTION_MESSAGE</c>/<c>EXCEPTION_STACKTRACE</c>, and
/// with <see cref="JournalLoggerOptions.IncludeScopes"/> the scopes' key/value pairs (others as
/// <c>SCOPE=</c>). Values are formatted with the invariant culture.</para>
/// </remarks>
[ProviderAlias("Journal")]
public sealed class JournalLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private static readonly RecordSink s_standardError = FileDescriptorSink.StandardError;

    private readonly RecordSink _stderrSink;
    private readonly JournalNativeWriter _native;
    private readonly IDisposable? _changeSubscription;
    private IExternalScopeProvider _scopes = NullExternalScopeProvider.Instance;
    private volatile Settings _settings;

    /// <summary>The provider as dependency injection makes it: fd 2 and journald's socket, options that
    /// follow <paramref name="options"/> (an <see cref="JournalOutput.Auto"/> choice is made once).</summary>
    public JournalLoggerProvider(IOptionsMonitor<JournalLoggerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _stderrSink = s_standardError;
        _native = JournalNativeWriter.Default;
        _settings = new Settings(options.CurrentValue, _stderrSink);
        _changeSubscription = options.OnChange(changed => _settings = new Settings(changed, _stderrSink));
    }

    private JournalLoggerProvider(JournalLoggerOptions options, Stream? standardError, JournalNativeWriter? native)
    {
        _stderrSink = standardError is null ? s_standardError : new StreamSink(standardError);
        _native = native ?? JournalNativeWriter.Default;
        _settings = new Settings(options, _stderrSink);
    }

    /// <summary>A provider with fixed options and, for tests and tools, other destinations (a static
    /// factory rather than a constructor, so that dependency injection always picks the one above).</summary>
    /// <param name="options">The options, read once.</param>
    /// <param name="standardError">Replaces fd 2 (a pipe, a buffer): each message is one Write and a
    /// Flush; null for fd 2.</param>
    /// <param name="native">Replaces <see cref="JournalNativeWriter.Default"/>; null for the default.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="JournalLoggerOptions.LineMax"/> is below 16.</exception>
    public static JournalLoggerProvider Create(JournalLoggerOptions options, Stream? standardError = null, JournalNativeWriter? native = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new JournalLoggerProvider(options, standardError, native);
    }

    /// <summary>Where this provider writes now (<see cref="JournalOutput.Auto"/> already decided).</summary>
    public JournalOutput Output => _settings.Output;

    internal Settings Current => _settings;

    internal IExternalScopeProvider Scopes => _scopes;

    internal JournalNativeWriter Native => _native;

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new JournalLogger(this, categoryName ?? "");

    /// <inheritdoc/>
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) =>
        _scopes = scopeProvider ?? NullExternalScopeProvider.Instance;

    /// <summary>Stops following option changes. The sockets are shared and stay open.</summary>
    public void Dispose() => _changeSubscription?.Dispose();

    /// <summary>An immutable snapshot of the options, resolved.</summary>
    internal sealed class Settings
    {
        public Settings(JournalLoggerOptions options, RecordSink sink)
        {
            Output = options.Output == JournalOutput.Auto ? Resolve() : options.Output;
            IncludeScopes = options.IncludeScopes;
            IncludeTemplateFields = options.IncludeTemplateFields;
            TimestampFormat = string.IsNullOrEmpty(options.TimestampFormat) ? null : options.TimestampFormat;
            UseUtcTimestamp = options.UseUtcTimestamp;
            string identifier = options.SyslogIdentifier ?? DefaultIdentifier();
            Identifier = Encoding.UTF8.GetBytes(identifier);
            Prefixed = new StderrLogger(sink, options.LineMax, prefix: true);
            Plain = new StderrLogger(sink, options.LineMax, prefix: false);
        }

        public JournalOutput Output { get; }

        public bool IncludeScopes { get; }

        public bool IncludeTemplateFields { get; }

        public string? TimestampFormat { get; }

        public bool UseUtcTimestamp { get; }

        public byte[] Identifier { get; }

        public StderrLogger Prefixed { get; }

        public StderrLogger Plain { get; }

        private static JournalOutput Resolve()
        {
            if (JournalStreamCheck.IsStandardErrorJournal)
            {
                return JournalOutput.Native;
            }

            return JournalStreamCheck.IsUnderServiceManager ? JournalOutput.PrefixedStderr : JournalOutput.PlainStderr;
        }

        /// <summary>program_invocation_short_name as systemd would see it, without .dll/.exe: the
        /// program's name, also under <c>dotnet app.dll</c>.</summary>
        private static string DefaultIdentifier()
        {
            string[] args = Environment.GetCommandLineArgs();
            string name = args.Length > 0 ? Path.GetFileNameWithoutExtension(args[0]) : "";
            return name.Length > 0 ? name : AppDomain.CurrentDomain.FriendlyName;
        }
    }

    private sealed class NullExternalScopeProvider : IExternalScopeProvider
    {
        public static readonly NullExternalScopeProvider Instance = new();

        public void ForEachScope<TState>(Action<object?, TState> callback, TState state)
        {
        }

        public IDisposable Push(object? state) => NullScope.Instance;

        private sealed class NullScope : IDisposable
        {
            public static readonly NullScope Instance = new();

            public void Dispose()
            {
            }
        }
    }
}
