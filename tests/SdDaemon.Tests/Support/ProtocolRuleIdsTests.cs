using System.Text.RegularExpressions;
using Xunit;

namespace SdDaemon.Tests.Support;

/// <summary>
/// Every rule id the repository cites resolves to an entry of docs/protocol.md, so that a reader
/// following "spec N-10" from the code always finds the rule, its source and its tests.
/// </summary>
public sealed partial class ProtocolRuleIdsTests
{
    private const string ProtocolDocument = "docs/protocol.md";

    [Fact]
    public void Every_cited_rule_id_has_an_entry_in_docs_protocol_md()
    {
        string root = RepositoryRoot();
        HashSet<string> defined = DefinedIds(File.ReadAllLines(Path.Combine(root, ProtocolDocument)), out _);

        var unresolved = new List<string>();
        int citations = 0;
        foreach (string file in CitingFiles(root))
        {
            string[] lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                foreach (string id in CitedIds(lines[i]))
                {
                    citations++;
                    if (!defined.Contains(id))
                    {
                        unresolved.Add($"{id} cited at {Path.GetRelativePath(root, file)}:{i + 1}");
                    }
                }
            }
        }

        Assert.True(citations > 100, $"only {citations} citations found: the scan looks in the wrong place");
        Assert.True(unresolved.Count == 0,
            $"rule ids without a '### ID' entry in {ProtocolDocument} (add the entry, or fix the citation):\n"
            + string.Join('\n', unresolved));
    }

    [Fact]
    public void Every_entry_of_docs_protocol_md_is_unique_and_has_its_source_and_tests()
    {
        string[] lines = File.ReadAllLines(Path.Combine(RepositoryRoot(), ProtocolDocument));
        HashSet<string> defined = DefinedIds(lines, out List<string> problems);

        Assert.True(defined.Count > 40, $"only {defined.Count} entries parsed from {ProtocolDocument}");
        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Theory]
    [InlineData("see spec N-10.", "N-10")]
    [InlineData("(spec L-1..L-3)", "L-1 L-2 L-3")]
    [InlineData("Spec rules: J-1 .. J-3 of", "J-1 J-2 J-3")]
    [InlineData("| L-7, L-8 |", "L-7 L-8")]
    [InlineData("// N-1: set but empty", "N-1")]
    [InlineData("    public void L2_N5_LISTEN_PID_is_parsed_like_safe_atoi(string pid)", "L-2 N-5")]
    [InlineData("    public async Task W4_pings()", "W-4")]
    [InlineData("UTF-8, sd-daemon, D-Bus, x-1, point.X-1, B-1a, ABC-1, N-1-2, 2026-11", "")]
    [InlineData("rules DB-1..DB-3 and V-10", "DB-1 DB-2 DB-3 V-10")]
    [InlineData("    public void Numbers_are_culture_invariant()", "")]
    public void Citations_are_found_where_the_repository_writes_them_and_nowhere_else(string line, string expected)
    {
        Assert.Equal(expected, string.Join(' ', CitedIds(line)));
    }

    /// <summary>
    /// The ids a line cites: "N-10" (not inside a longer word, nor after "identifier."), a range
    /// "L-1..L-8" or "J-1 .. J-4" (every id in between), and a test method named after the ids it
    /// proves ("void L2_N5_..." cites L-2 and N-5).
    /// </summary>
    private static IEnumerable<string> CitedIds(string line)
    {
        foreach (Match match in ProseCitation().Matches(line))
        {
            string family = match.Groups["family"].Value;
            int first = int.Parse(match.Groups["first"].Value, System.Globalization.CultureInfo.InvariantCulture);
            int last = match.Groups["last"].Success
                ? int.Parse(match.Groups["last"].Value, System.Globalization.CultureInfo.InvariantCulture)
                : first;
            for (int number = first; number <= Math.Max(first, last); number++)
            {
                yield return $"{family}-{number}";
            }
        }

        foreach (Match match in TestMethodCitation().Matches(line))
        {
            foreach (Capture id in match.Groups["id"].Captures)
            {
                yield return System.Text.RegularExpressions.Regex.Replace(id.Value, @"^([A-Z]+)(\d+)$", "$1-$2");
            }
        }
    }

    /// <summary>The ids of the "### ID" headings (the format docs/protocol.md describes at its top).</summary>
    private static HashSet<string> DefinedIds(string[] lines, out List<string> problems)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        problems = [];
        string? current = null;
        bool source = false, tests = false;
        for (int i = 0; i <= lines.Length; i++)
        {
            bool endOfEntry = i == lines.Length || lines[i].StartsWith("## ", StringComparison.Ordinal) || lines[i].StartsWith("### ", StringComparison.Ordinal);
            if (endOfEntry && current is not null && !(source && tests))
            {
                problems.Add($"{current}: the entry needs a '- Source:' and a '- Tests:' line");
            }

            if (i == lines.Length)
            {
                break;
            }

            if (endOfEntry)
            {
                current = null;
                Match heading = EntryHeading().Match(lines[i]);
                if (heading.Success)
                {
                    current = heading.Groups["id"].Value;
                    source = tests = false;
                    if (!ids.Add(current))
                    {
                        problems.Add($"{current}: defined twice (line {i + 1})");
                    }
                }
                else if (lines[i].StartsWith("### ", StringComparison.Ordinal))
                {
                    problems.Add($"line {i + 1}: a level-3 heading must be a rule id alone, like '### N-10': '{lines[i]}'");
                }
            }
            else if (current is not null)
            {
                source |= lines[i].StartsWith("- Source:", StringComparison.Ordinal);
                tests |= lines[i].StartsWith("- Tests:", StringComparison.Ordinal);
            }
        }

        return ids;
    }

    /// <summary>src/, tests/, examples/ (every text file outside build output), README.md and docs/*.md but the rules themselves.</summary>
    private static IEnumerable<string> CitingFiles(string root)
    {
        string[] skipped = ["bin", "obj", ".git", ".vs", "TestResults", "BenchmarkDotNet.Artifacts", "node_modules"];
        foreach (string top in new[] { "src", "tests", "examples" })
        {
            var pending = new Stack<string>([Path.Combine(root, top)]);
            while (pending.Count > 0)
            {
                string directory = pending.Pop();
                foreach (string sub in Directory.EnumerateDirectories(directory))
                {
                    if (!skipped.Contains(Path.GetFileName(sub), StringComparer.Ordinal))
                    {
                        pending.Push(sub);
                    }
                }

                foreach (string file in Directory.EnumerateFiles(directory))
                {
                    if (IsText(file))
                    {
                        yield return file;
                    }
                }
            }
        }

        yield return Path.Combine(root, "README.md");
        string protocol = Path.GetFullPath(Path.Combine(root, ProtocolDocument));
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md"))
        {
            if (!string.Equals(Path.GetFullPath(file), protocol, StringComparison.Ordinal))
            {
                yield return file;
            }
        }
    }

    private static bool IsText(string file)
    {
        Span<byte> head = stackalloc byte[4096];
        using FileStream stream = File.OpenRead(file);
        int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return !head[..read].Contains((byte)0); // a NUL in the first 4 KiB: binary, nothing to cite
    }

    /// <summary>The folder holding SdDaemon.sln, above wherever the test assembly was built or copied.</summary>
    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SdDaemon.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no SdDaemon.sln above {AppContext.BaseDirectory}: run the tests from inside the repository");
    }

    // One or two capital letters (DB- is D-Bus), a hyphen, 1-3 digits; not part of a longer word ("UTF-8", "ABC-1", "B-1a"),
    // of a longer hyphenated token ("N-1-2"), or of a member access ("point.X-1"), but allowed after
    // the ".." of a range.
    [GeneratedRegex(@"(?<![\w\-])(?<!\w\.)(?<family>[A-Z]{1,2})-(?<first>\d{1,3})(?:\s*\.\.\s*\k<family>-(?<last>\d{1,3}))?(?![\w\-])")]
    private static partial Regex ProseCitation();

    [GeneratedRegex(@"\b(?:void|Task|ValueTask)\s+(?:(?<id>[A-Z]{1,2}\d{1,3})_)+")]
    private static partial Regex TestMethodCitation();

    [GeneratedRegex(@"^### (?<id>[A-Z]{1,2}-\d{1,3})\s*$")]
    private static partial Regex EntryHeading();
}
