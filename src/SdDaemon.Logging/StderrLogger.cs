using System.Runtime.Versioning;
using SdDaemon.Logging.Internal;
using SdDaemon.Text;

namespace SdDaemon.Logging;

/// <summary>
/// A logger that writes syslog-prefixed lines (<c>&lt;3&gt;disk full</c>) to stderr, the form journald
/// turns into records with <c>PRIORITY=</c> when a unit's output goes to the journal
/// (<see href="https://www.freedesktop.org/software/systemd/man/sd-daemon.html">sd-daemon(3)</see>,
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html">systemd.exec(5)</see>
/// <c>StandardError=journal</c>, <see href="https://www.freedesktop.org/software/systemd/man/systemd-journald.service.html">systemd-journald.service(8)</see>).
/// Needs no Microsoft.Extensions.Logging.
/// </summary>
/// <remarks>
/// <para>Each line of a message is its own journal record, so every line gets its own prefix.
/// <c>\n</c>, <c>\r\n</c> and a lone <c>\r</c> end a line; empty lines are left out (journald drops
/// them); other control characters (NUL, ESC, C1 controls...) are written as <c>\xHH</c>, so a message
/// can neither split a record nor forge one with a prefix of its own (every line already starts with
/// ours, and journald reads only the first). Lines longer than <see cref="LineMax"/> are split at a
/// UTF-8 character boundary into several records that each carry the prefix, instead of being cut by
/// journald at an arbitrary byte.</para>
/// <para>All lines of one message reach the descriptor in a single write(2), serialized between the
/// threads of this process, so concurrent writers never interleave within a line (a message over
/// PIPE_BUF, 4096 bytes, is written to a pipe in PIPE_BUF pieces, which the kernel never made atomic
/// anyway). Write errors are ignored (a logger has nobody to report them to) and counted in
/// <see cref="DroppedRecords"/>.</para>
/// <para>Never hangs a daemon: a stderr whose reader stopped reading (a full pipe, a journald stream
/// socket nobody drains) is waited for at most two seconds per message (without touching its
/// O_NONBLOCK flag, which the open file description shares with other processes); then the rest of
/// the message is dropped, a line cut short is ended with a newline so that the next record starts
/// with its own prefix, and later messages are dropped at once until the descriptor takes one again.
/// Elsewhere than Linux, <see cref="Standard"/> and <see cref="StandardPlain"/> write to the
/// process's standard error stream (<see cref="Console.OpenStandardError()"/>).</para>
/// </remarks>
public sealed class StderrLogger
{
    /// <summary>journald's default <c>LineMax=</c> (48 KiB, journald.conf(5)).</summary>
    public const int DefaultLineMax = LineEncoder.DefaultLineMax;

    private readonly RecordSink _sink;

    /// <summary>Writes prefixed lines to <paramref name="stream"/> (a pipe, a socket, a file, a test buffer).</summary>
    /// <param name="stream">The destination; each message is one <see cref="Stream.Write(ReadOnlySpan{byte})"/> and a flush.</param>
    /// <param name="lineMax">The longest record, prefix and newline included (journald's LineMax).</param>
    /// <param name="prefix">False writes plain lines without <c>&lt;N&gt;</c> (for a terminal).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="lineMax"/> is below 16.</exception>
    public StderrLogger(Stream stream, int lineMax = DefaultLineMax, bool prefix = true)
        : this(new StreamSink(stream ?? throw new ArgumentNullException(nameof(stream))), lineMax, prefix)
    {
    }

    internal StderrLogger(RecordSink sink, int lineMax, bool prefix)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lineMax, LineEncoder.MinimumLineMax);
        _sink = sink;
        LineMax = lineMax;
        UsesPrefix = prefix;
    }

    /// <summary>
    /// Writes prefixed lines to an open file descriptor (a pipe, a socket, a tty, a file) with write(2)
    /// or send(2) directly, each message bounded by <paramref name="writeTimeout"/> as
    /// <see cref="Standard"/> is (see the class remarks). The caller keeps the descriptor open for the
    /// logger's lifetime and closes it afterwards.
    /// </summary>
    /// <param name="fileDescriptor">The descriptor, 0 or more.</param>
    /// <param name="lineMax">The longest record, prefix and newline included (journald's LineMax).</param>
    /// <param name="prefix">False writes plain lines without <c>&lt;N&gt;</c> (for a terminal).</param>
    /// <param name="writeTimeout">How long one message may wait for a full descriptor; null for the
    /// default of two seconds.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="fileDescriptor"/> is negative,
    /// <paramref name="lineMax"/> is below 16, or <paramref name="writeTimeout"/> is negative or over
    /// <see cref="int.MaxValue"/> milliseconds.</exception>
    [SupportedOSPlatform("linux")]
    public static StderrLogger ForFileDescriptor(int fileDescriptor, int lineMax = DefaultLineMax, bool prefix = true, TimeSpan? writeTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fileDescriptor);
        TimeSpan timeout = writeTimeout ?? FileDescriptorSink.DefaultTimeout;
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero, nameof(writeTimeout));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timeout, TimeSpan.FromMilliseconds(int.MaxValue), nameof(writeTimeout));
        return new StderrLogger(new FileDescriptorSink(fileDescriptor, timeout), lineMax, prefix);
    }

    /// <summary>The process's stderr (fd 2), written with write(2) directly (not through
    /// <see cref="Console.Error"/>), with <c>&lt;N&gt;</c> prefixes and the default LineMax.</summary>
    public static StderrLogger Standard { get; } = new(FileDescriptorSink.StandardError, DefaultLineMax, prefix: true);

    /// <summary>The process's stderr without prefixes: plain lines for a person at a terminal.</summary>
    public static StderrLogger StandardPlain { get; } = new(FileDescriptorSink.StandardError, DefaultLineMax, prefix: false);

    /// <summary>The longest record this logger writes, prefix and newline included.</summary>
    public int LineMax { get; }

    /// <summary>Whether lines carry the <c>&lt;N&gt;</c> prefix.</summary>
    public bool UsesPrefix { get; }

    /// <summary>Records (lines) that did not reach the destination whole: dropped because it stayed
    /// full past the write timeout, or because writing failed. Counted per destination, so
    /// <see cref="Standard"/> and <see cref="StandardPlain"/> (both fd 2) report the same number.
    /// Always 0 for a <see cref="Stream"/> destination, whose exceptions reach the caller.</summary>
    public long DroppedRecords => _sink.DroppedRecords;

    /// <summary>The most text one record holds: LineMax less the prefix and the newline.</summary>
    internal int MaxLineContent => LineMax - (UsesPrefix ? LineEncoder.PrefixedOverhead : 1);

    /// <summary>Logs <paramref name="message"/> (any number of lines) at <paramref name="priority"/>.</summary>
    public void Log(SyslogPriority priority, string? message) => Log(priority, message.AsSpan());

    /// <summary>Logs <paramref name="message"/> (any number of lines) at <paramref name="priority"/>.</summary>
    public void Log(SyslogPriority priority, ReadOnlySpan<char> message)
    {
        PooledBuffer utf8 = ScratchBuffers.RentSecond();
        try
        {
            utf8.WriteUtf8(message);
            Log(priority, utf8.Written);
        }
        finally
        {
            ScratchBuffers.ReturnSecond(utf8);
        }
    }

    /// <summary>Logs raw bytes (meant to be UTF-8; invalid sequences pass through unchanged, control
    /// bytes are escaped) at <paramref name="priority"/>.</summary>
    public void Log(SyslogPriority priority, ReadOnlySpan<byte> utf8Message)
    {
        PooledBuffer records = ScratchBuffers.RentFirst();
        try
        {
            LineEncoder.Append(records, Digit(priority), utf8Message, LineMax);
            _sink.Write(records.Written);
        }
        finally
        {
            ScratchBuffers.ReturnFirst(records);
        }
    }

    /// <summary>Logs at <see cref="SyslogPriority.Emerg"/> (0).</summary>
    public void Emerg(string? message) => Log(SyslogPriority.Emerg, message);

    /// <summary>Logs at <see cref="SyslogPriority.Alert"/> (1).</summary>
    public void Alert(string? message) => Log(SyslogPriority.Alert, message);

    /// <summary>Logs at <see cref="SyslogPriority.Crit"/> (2).</summary>
    public void Crit(string? message) => Log(SyslogPriority.Crit, message);

    /// <summary>Logs at <see cref="SyslogPriority.Err"/> (3).</summary>
    public void Err(string? message) => Log(SyslogPriority.Err, message);

    /// <summary>Logs at <see cref="SyslogPriority.Warning"/> (4).</summary>
    public void Warning(string? message) => Log(SyslogPriority.Warning, message);

    /// <summary>Logs at <see cref="SyslogPriority.Notice"/> (5).</summary>
    public void Notice(string? message) => Log(SyslogPriority.Notice, message);

    /// <summary>Logs at <see cref="SyslogPriority.Info"/> (6).</summary>
    public void Info(string? message) => Log(SyslogPriority.Info, message);

    /// <summary>Logs at <see cref="SyslogPriority.Debug"/> (7).</summary>
    public void Debug(string? message) => Log(SyslogPriority.Debug, message);

    /// <summary>
    /// A <see cref="TextWriter"/> for code that only knows how to write text (a library's trace
    /// output, <see cref="Console.SetError(TextWriter)"/>): every complete line written to it becomes a
    /// record at <paramref name="priority"/>; a partial line waits for its end, for
    /// <see cref="TextWriter.Flush"/> or for <see cref="IDisposable.Dispose"/>. Thread-safe.
    /// </summary>
    public TextWriter Writer(SyslogPriority priority) => new PriorityTextWriter(this, priority);

    /// <summary>
    /// A write-only <see cref="Stream"/> for code that writes bytes (a child process's output copied
    /// through, a library that logs to a Stream): every complete line becomes a record at
    /// <paramref name="priority"/>; a partial line waits for its end, for <see cref="Stream.Flush"/> or
    /// for <see cref="IDisposable.Dispose"/>. Bytes are passed through as they are (meant to be
    /// UTF-8), control bytes escaped. Thread-safe.
    /// </summary>
    public Stream OpenStream(SyslogPriority priority)
    {
        _ = Digit(priority);
        return new PriorityStream(this, priority);
    }

    private int Digit(SyslogPriority priority)
    {
        if ((uint)priority > 7)
        {
            throw new ArgumentOutOfRangeException(nameof(priority), priority, "A syslog priority is 0 (Emerg) to 7 (Debug).");
        }

        return UsesPrefix ? (int)priority : -1;
    }
}
