using System.Xml.Linq;
using Xunit;

namespace SdDaemon.Tests.Support;

/// <summary>
/// `dotnet new sddaemon` (src/SdDaemon.Templates) references the SdDaemon packages by a literal
/// version, which must be the one this repository packs, or a fresh project restores an older
/// release (or none). .ci/consumer instantiates and builds the template against the packed packages.
/// </summary>
public sealed class TemplatePackageTests
{
    [Fact]
    public void The_template_references_the_SdDaemon_packages_of_this_version()
    {
        string root = RepositoryRoot();
        string version = XDocument.Load(Path.Combine(root, "Directory.Build.props"))
            .Descendants("Version").Single().Value;
        XDocument template = XDocument.Load(Path.Combine(root, "src/SdDaemon.Templates/content/sddaemon/SdDaemonWorker.csproj"));

        var references = template.Descendants("PackageReference")
            .Where(r => ((string)r.Attribute("Include")!).StartsWith("SdDaemon.", StringComparison.Ordinal))
            .Select(r => $"{(string)r.Attribute("Include")!} {(string)r.Attribute("Version")!}")
            .ToArray();

        Assert.Equal([$"SdDaemon.Hosting {version}", $"SdDaemon.Logging {version}"], references);
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SdDaemon.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no SdDaemon.sln above {AppContext.BaseDirectory}");
    }
}
