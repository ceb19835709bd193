using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SdDaemon.Logging;

namespace Microsoft.Extensions.Logging;

/// <summary>
/// Adds the journald provider (<see cref="JournalLoggerProvider"/>) to a logging builder:
/// <c>&lt;N&gt;</c>-prefixed stderr lines or native journal entries
/// (<see href="https://www.freedesktop.org/software/systemd/man/systemd-journald.service.html">systemd-journald.service(8)</see>,
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html">systemd.exec(5)</see>).
/// </summary>
public static class JournalLoggerExtensions
{
    /// <summary>Adds the journal provider with default <see cref="JournalLoggerOptions"/>
    /// (<see cref="JournalOutput.Auto"/>). Adding it twice adds one provider.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    public static ILoggingBuilder AddJournal(this ILoggingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, JournalLoggerProvider>());
        return builder;
    }

    /// <summary>Adds the journal provider and configures its options (the options pattern, without
    /// reflection-based configuration binding, so that the library stays trimming- and AOT-safe).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is null.</exception>
    public static ILoggingBuilder AddJournal(this ILoggingBuilder builder, Action<JournalLoggerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddJournal();
        builder.Services.Configure(configure);
        return builder;
    }
}
