using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using SdDaemon.Logging;
using Xunit;

#pragma warning disable CA1873, CA2254 // generated templates and their arguments are the point of these tests

namespace SdDaemon.Tests.Logging;

/// <summary>
/// Spec J-8: the stderr forms render MEL's template state (<c>LogInformation(template, args)</c>)
/// straight into UTF-8, with exactly the bytes that MEL's own formatter's string gives, and leave to
/// that formatter whatever they cannot render exactly.
/// </summary>
public sealed class TemplateRenderingTests
{
    private const string Sentinel = "formatter was called";

    private static readonly string[] s_literals =
    [
        "order ", " for ", "x", " ", "é", "日本", "😀", "\n", "\r\n", "\r", "\t", "\u0001", "\u001b[31m", "\u0085",
        "{{", "}}", "{", "}", "{{{", "}}}", "\ud83d", "\ude00", ":", ",",
    ];

    private static readonly string[] s_holes =
    [
        "{OrderId}", "{Customer}", "{N:D5}", "{N:N2}", "{N:yyyy}", "{N,5}", "{N,-3:D2}", "{N:}", "{N:x}", "{N:X8}",
        "{N:0.00}", "{N:G}", "{N:R}", "{N:E3}", "{N:C}", "{N:c}", "{N:o}", "{N:B}", "{N:'é'}", "{N:Q}", "{N: D3}",
        "{A}", "{@Obj}", "{N:{x}", "{A B}", "{}",
    ];

    private static readonly object?[] s_values =
    [
        null, "", "alice", "l1\nl2", "a\r\nb\rc", "\u001b[31mred", "\0nul", "😀", "\ud83d", "\ude00", "x\ud83d", "\ude00x",
        "日本語", "{0}", "{{", 0, 42, -7, int.MinValue, long.MaxValue, (short)-3, (sbyte)-1, (byte)255, (ushort)65535,
        5u, 123UL, 3.14, -0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e300, double.Epsilon,
        1.5f, float.NaN, 12.345m, -0.5m, decimal.MaxValue, new DateTime(2024, 2, 29, 13, 5, 7, DateTimeKind.Utc),
        DateTime.MinValue, new DateTimeOffset(2024, 2, 29, 13, 5, 7, TimeSpan.FromHours(-5)), TimeSpan.FromMilliseconds(-90061001),
        new Guid("0f8fad5b-d9cb-469f-a165-70867728950e"), true, false, DayOfWeek.Monday, FileAccess.ReadWrite, (FileAccess)8,
        new[] { 1, 2 }, new List<string?> { "a", null }, Array.Empty<object>(), new object(), new Custom(), 'c', new Version(1, 2),
        new Uri("http://h/p"), (Half)1.5, (Int128)(-5),
    ];

    [Fact]
    public void J8_every_template_and_value_gives_the_bytes_of_MELs_own_string_through_the_direct_path_or_the_formatter()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        try
        {
            // A current culture unlike the invariant one: MEL formats with the invariant culture, and so must we.
            var odd = (CultureInfo)CultureInfo.InvariantCulture.Clone();
            odd.NumberFormat.NumberDecimalSeparator = ";";
            odd.NumberFormat.NegativeSign = "~";
            odd.NumberFormat.NaNSymbol = "nan!";
            odd.DateTimeFormat.DateSeparator = "#";
            CultureInfo.CurrentCulture = odd;

            var random = new Random(20261203);
            int direct = 0;
            int cases = 20000;
            for (int n = 0; n < cases; n++)
            {
                string template = Template(random);
                object?[] args = Values(random);
                if (Check(template, args))
                {
                    direct++;
                }
            }

            // Most generated cases have some construct that is left to the formatter; a good share must not.
            Assert.InRange(direct, cases / 10, cases);
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("order {OrderId} for {Customer}", new object?[] { 42, "alice" }, "order 42 for alice")]
    [InlineData("{A:D5}|{B:N2}|{C:yyyy-MM-dd}|{D}", new object?[] { -42, 1234.5, "x", null }, "-00042|1,234.50|x|(null)")]
    [InlineData("nan {A} inf {B} {C:R}", new object?[] { double.NaN, double.NegativeInfinity, 0.1 }, "nan NaN inf -Infinity 0.1")]
    [InlineData("{{literal}} {A} }}", new object?[] { true }, "{literal} True }")]
    [InlineData("no holes, no values", new object?[] { }, "no holes, no values")]
    [InlineData("{A} é {B:N0} 😀", new object?[] { (byte)7, -1234567L }, "7 é -1,234,567 😀")]
    public void J8_common_templates_are_rendered_without_the_formatter(string template, object?[] args, string expected)
    {
        var sink = new RecordingStream();
        ILogger journal = Provider(sink).CreateLogger("Cat");
        new Forwarder(journal, Sentinel).LogInformation(template, args);
        Assert.Equal("<6>Cat: " + expected + "\n", sink.Text);
    }

    [Fact]
    public void J8_newlines_and_control_characters_in_values_split_and_escape_records_as_before()
    {
        var sink = new RecordingStream();
        ILogger journal = Provider(sink).CreateLogger("Cat");
        new Forwarder(journal, Sentinel).LogWarning("a {X} b {Y}", "l1\nl2\r\n\rl3", "\u001b[1m\u0085é😀");
        Assert.Equal(
            Encoding.UTF8.GetBytes("<4>Cat: a l1\n<4>l2\n<4>l3 b \\x1b[1m\\xc2\\x85é😀\n"),
            sink.Writes.SelectMany(w => w).ToArray());
    }

    [Theory]
    [InlineData("{A,5}", 42)] // alignment
    [InlineData("{A}", DayOfWeek.Monday)] // enum
    [InlineData("{A:x}", 'c')] // char: not on the list of types whose formatting is known
    [InlineData("{A:é}", 1.5)] // a format outside ASCII
    [InlineData("no holes {{ }}", 1)] // MEL unescapes braces only when there are values
    public void J8_what_cannot_be_rendered_exactly_is_left_to_the_formatter(string template, object arg)
    {
        var sink = new RecordingStream();
        ILogger journal = Provider(sink).CreateLogger("Cat");
        new Forwarder(journal, Sentinel, realFormatter: false).LogInformation(template, arg);
        Assert.Equal("<6>Cat: " + Sentinel + "\n", sink.Text);
    }

    [Fact]
    public void J8_sequences_and_the_users_types_are_left_to_the_formatter()
    {
        var sink = new RecordingStream();
        ILogger journal = Provider(sink).CreateLogger("Cat");
        var forwarder = new Forwarder(journal, Sentinel, realFormatter: false);
        forwarder.LogInformation("{A}", new[] { 1, 2 });
        forwarder.LogInformation("{A}", new Custom());
        Assert.Equal("<6>Cat: " + Sentinel + "\n<6>Cat: " + Sentinel + "\n", sink.Text);
    }

    /// <summary>One case: MEL's string (or its exception) against what the logger writes with MEL's
    /// formatter and with a formatter that must not be needed. True when the direct path rendered it.</summary>
    private static bool Check(string template, object?[] args)
    {
        var withFormatter = new RecordingStream();
        var withSentinel = new RecordingStream();
        ILogger real = Provider(withFormatter).CreateLogger("Cat");
        ILogger sentinel = Provider(withSentinel).CreateLogger("Cat");
        var oracle = new Forwarder(null, Sentinel);
        string? expected = null;
        Exception? melError = null;
        try
        {
            oracle.LogInformation(template, args);
            expected = oracle.Formatted;
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException)
        {
            melError = e;
        }

        string description = $"template {Show(template)} with ({string.Join(", ", args.Select(a => a is null ? "null" : a.GetType().Name + " " + Show(Convert.ToString(a, CultureInfo.InvariantCulture) ?? "")))})";
        if (melError is not null)
        {
            // MEL's formatter throws: so does the logger, and the direct path wrote nothing.
            Exception thrown = Assert.ThrowsAny<Exception>(() => new Forwarder(real, Sentinel).LogInformation(template, args));
            Assert.True(thrown.GetType() == melError.GetType(), description);
            try
            {
                new Forwarder(sentinel, Sentinel, realFormatter: false).LogInformation(template, args);
            }
            catch (Exception e) when (e.GetType() == melError.GetType())
            {
                // Thrown by MEL before the logger was called.
            }

            Assert.True(withSentinel.Text.Length == 0 || Sentinel == Record(withSentinel), description);
            return false;
        }

        new Forwarder(real, Sentinel).LogInformation(template, args);
        new Forwarder(sentinel, Sentinel, realFormatter: false).LogInformation(template, args);
        var encoded = new RecordingStream();
        new StderrLogger(encoded).Log(SyslogPriority.Info, "Cat: " + expected);
        byte[] want = [.. encoded.Writes.SelectMany(w => w)];
        byte[] got = [.. withFormatter.Writes.SelectMany(w => w)];
        Assert.True(want.AsSpan().SequenceEqual(got), $"{description}: want {Show(Encoding.UTF8.GetString(want))}, got {Show(Encoding.UTF8.GetString(got))}");
        byte[] direct = [.. withSentinel.Writes.SelectMany(w => w)];
        if (Record(withSentinel) == Sentinel)
        {
            return false;
        }

        Assert.True(want.AsSpan().SequenceEqual(direct), $"{description}: direct path gave {Show(Encoding.UTF8.GetString(direct))}");
        return true;
    }

    private static string Record(RecordingStream sink) => sink.Text.StartsWith("<6>Cat: ", StringComparison.Ordinal) && sink.Text.EndsWith('\n')
        ? sink.Text["<6>Cat: ".Length..^1]
        : sink.Text;

    private static string Show(string text) => string.Concat(text.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:x4}"));

    private static string Template(Random random)
    {
        var text = new StringBuilder();
        int parts = random.Next(0, 7);
        for (int i = 0; i < parts; i++)
        {
            text.Append(random.Next(3) == 0 ? s_holes[random.Next(s_holes.Length)] : s_literals[random.Next(s_literals.Length)]);
        }

        return text.ToString();
    }

    private static object?[] Values(Random random)
    {
        var values = new object?[random.Next(0, 5)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = s_values[random.Next(s_values.Length)];
        }

        return values;
    }

    private static JournalLoggerProvider Provider(Stream sink) =>
        JournalLoggerProvider.Create(new JournalLoggerOptions { Output = JournalOutput.PrefixedStderr }, sink);

    private sealed class Custom
    {
        public override string ToString() => "custom\nvalue";
    }

    /// <summary>Takes MEL's own state and formatter (LogInformation makes them) and hands the state on with
    /// either that formatter or one that answers <see cref="Sentinel"/>, so that a test sees whether the
    /// logger needed it; <see cref="Formatted"/> is MEL's string.</summary>
    private sealed class Forwarder(ILogger? target, string sentinel, bool realFormatter = true) : ILogger
    {
        public string? Formatted { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (target is null)
            {
                Formatted = formatter(state, exception);
                return;
            }

            target.Log(logLevel, eventId, state, exception, realFormatter ? formatter : (_, _) => sentinel);
        }
    }
}
