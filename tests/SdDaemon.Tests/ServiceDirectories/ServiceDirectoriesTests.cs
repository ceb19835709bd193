using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.ServiceDirectories;

/// <summary>The unit's directories from their variables (spec S-1, S-2).</summary>
public sealed class ServiceDirectoriesTests
{
    [Fact]
    public void S1_each_variable_is_a_colon_separated_list_in_the_units_order()
    {
        var environment = new FakeEnvironment(
            ("STATE_DIRECTORY", "/var/lib/app:/var/lib/app-extra"),
            ("RUNTIME_DIRECTORY", "/run/app"),
            ("CACHE_DIRECTORY", "/var/cache/app::"),
            ("LOGS_DIRECTORY", ""),
            ("CONFIGURATION_DIRECTORY", "/etc/app"));

        var directories = SdDaemon.ServiceDirectories.FromEnvironment(environment);

        Assert.Equal(["/var/lib/app", "/var/lib/app-extra"], directories.State);
        Assert.Equal(["/run/app"], directories.Runtime);
        Assert.Equal(["/var/cache/app"], directories.Cache);
        Assert.Empty(directories.Logs);
        Assert.Equal(["/etc/app"], directories.Configuration);
        Assert.Equal("/var/lib/app", directories.GetFirst(ServiceDirectoryKind.State));
        Assert.Null(directories.GetFirst(ServiceDirectoryKind.Logs));
        Assert.Equal(directories.State, directories.Get(ServiceDirectoryKind.State));
    }

    [Fact]
    public void S1_outside_a_manager_every_list_is_empty()
    {
        var directories = SdDaemon.ServiceDirectories.FromEnvironment(new FakeEnvironment());
        foreach (ServiceDirectoryKind kind in Enum.GetValues<ServiceDirectoryKind>())
        {
            Assert.Empty(directories.Get(kind));
        }
    }

    [Fact]
    public void S1_a_relative_path_is_an_error_naming_the_variable()
    {
        var environment = new FakeEnvironment(("LOGS_DIRECTORY", "/var/log/app:relative/log"));
        FormatException e = Assert.Throws<FormatException>(() => SdDaemon.ServiceDirectories.FromEnvironment(environment));
        Assert.Equal("LOGS_DIRECTORY holds 'relative/log', which is not an absolute path", e.Message);
    }

    [Theory]
    [InlineData(ServiceDirectoryKind.Runtime, "RUNTIME_DIRECTORY")]
    [InlineData(ServiceDirectoryKind.State, "STATE_DIRECTORY")]
    [InlineData(ServiceDirectoryKind.Cache, "CACHE_DIRECTORY")]
    [InlineData(ServiceDirectoryKind.Logs, "LOGS_DIRECTORY")]
    [InlineData(ServiceDirectoryKind.Configuration, "CONFIGURATION_DIRECTORY")]
    public void S1_the_variable_names_are_systemds(ServiceDirectoryKind kind, string name) =>
        Assert.Equal(name, SdDaemon.ServiceDirectories.VariableName(kind));

    [Fact]
    public void S2_without_the_units_directory_the_content_root_is_left_alone_and_the_directories_are_a_service()
    {
        Assert.Null(Environment.GetEnvironmentVariable("STATE_DIRECTORY")); // the test host has none
        string root = Directory.CreateTempSubdirectory("sdd-root-").FullName;
        try
        {
            using IHost host = Host.CreateDefaultBuilder()
                .UseContentRoot(root)
                .UseServiceDirectoryAsContentRoot(ServiceDirectoryKind.State)
                .UseSdDaemon()
                .Build();

            Assert.Equal(root, host.Services.GetRequiredService<IHostEnvironment>().ContentRootPath.TrimEnd('/'));
            Assert.Empty(host.Services.GetRequiredService<SdDaemon.ServiceDirectories>().State);
        }
        finally
        {
            Directory.Delete(root);
        }
    }
}
