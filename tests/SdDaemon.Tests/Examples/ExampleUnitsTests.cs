using System.Text.RegularExpressions;
using Xunit;

namespace SdDaemon.Tests.Examples;

/// <summary>The examples' unit files install together: no two of them take the same port.</summary>
public sealed partial class ExampleUnitsTests
{
    [Fact]
    public void Every_port_the_example_units_listen_on_or_pass_with_port_is_their_own()
    {
        string examples = Path.Combine(FindRepositoryRoot(), "examples");
        var owners = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (string unit in Directory.EnumerateFiles(examples, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".socket", StringComparison.Ordinal) || f.EndsWith(".service", StringComparison.Ordinal)))
        {
            foreach (Match port in PortInUnit().Matches(File.ReadAllText(unit)))
            {
                string number = port.Groups["port"].Value;
                owners.TryAdd(number, []);
                owners[number].Add(Path.GetFileName(unit));
            }
        }

        // webapp.socket or webapp.service alone binds 8080; the activated server's two units 8090 and 8091.
        Assert.Equal(["8080", "8090", "8091"], owners.Keys.Order(StringComparer.Ordinal));
        Assert.All(owners, o => Assert.True(o.Value.Count == 1, $"port {o.Key} is taken by {string.Join(", ", o.Value)}"));
    }

    [GeneratedRegex(@"^(?:ListenStream=127\.0\.0\.1:|ExecStart=.*--port )(?<port>\d+)", RegexOptions.Multiline)]
    private static partial Regex PortInUnit();

    private static string FindRepositoryRoot()
    {
        for (string? directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "SdDaemon.sln")))
            {
                return directory;
            }
        }

        throw new InvalidOperationException($"no SdDaemon.sln above {AppContext.BaseDirectory}");
    }
}
