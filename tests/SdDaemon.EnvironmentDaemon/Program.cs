// A generic-host daemon for the integration tests: Type=notify-reload under SdDaemon.Hosting, with
// the unit's credentials (prefix "app.") as configuration and StateDirectory= as content root.
// It writes a report to the file named by its one argument at start, after every reload and on
// every memory pressure event (the test reads it; values are printed because the test must see
// them arrive, which a real daemon would never do):
//   uid=N | content-root=PATH | runtime=A:B | state=... | cache=... | logs=... | configuration=...
//   state-owner=UID (the owner of the first state directory) | config:KEY=VALUE (each credential key)
//   binary:bin.key=HEX (SystemdCredentials.TryRead, when there is one) | reloads=N | pressure=N
//   pressure-watch=$MEMORY_PRESSURE_WATCH | credentials=$CREDENTIALS_DIRECTORY
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SdDaemon;
using SdDaemon.Hosting;

if (!OperatingSystem.IsLinux() || args.Length != 1)
{
    return 2;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    ContentRootPath = ServiceDirectories.FromEnvironment().GetFirst(ServiceDirectoryKind.State),
});
builder.Configuration.AddSystemdCredentials("app.");
builder.Services.AddSdDaemon(options => options.MemoryPressureMinimumInterval = TimeSpan.FromMilliseconds(200));
var report = new Report(args[0], builder.Configuration);
builder.Services.AddSingleton(report);
builder.Services.AddSingleton<IReloadHandler>(report);
builder.Services.AddSingleton<IMemoryPressureHandler>(report);
using IHost host = builder.Build();
report.ContentRoot = host.Services.GetRequiredService<IHostEnvironment>().ContentRootPath;
report.Write();
host.Run();
return 0;

internal sealed class Report(string path, IConfigurationRoot configuration) : IReloadHandler, IMemoryPressureHandler
{
    private int _reloads;
    private int _pressure;

    public string ContentRoot { get; set; } = "";

    public Task ReloadAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reloads);
        Write();
        return Task.CompletedTask;
    }

    public void OnMemoryPressure()
    {
        Interlocked.Increment(ref _pressure);
        Write();
    }

    public void Write()
    {
        var text = new StringBuilder();
        var directories = ServiceDirectories.FromEnvironment();
        text.Append(CultureInfo.InvariantCulture, $"uid={Uid()}\n");
        text.Append(CultureInfo.InvariantCulture, $"credentials={SystemdCredentials.DirectoryPath}\n");
        text.Append(CultureInfo.InvariantCulture, $"pressure-watch={Environment.GetEnvironmentVariable(EnvironmentVariables.MemoryPressureWatch)}\n");
        text.Append(CultureInfo.InvariantCulture, $"content-root={ContentRoot.TrimEnd('/')}\n");
        foreach (ServiceDirectoryKind kind in Enum.GetValues<ServiceDirectoryKind>())
        {
            text.Append(CultureInfo.InvariantCulture, $"{kind.ToString().ToLowerInvariant()}={string.Join(':', directories.Get(kind))}\n");
        }

        if (directories.GetFirst(ServiceDirectoryKind.State) is { } state)
        {
            text.Append(CultureInfo.InvariantCulture, $"state-owner={Owner(state)}\n");
        }

        foreach (SystemdCredentialsConfigurationProvider provider in configuration.Providers.OfType<SystemdCredentialsConfigurationProvider>())
        {
            foreach (string key in Keys(provider, null))
            {
                provider.TryGet(key, out string? value);
                text.Append(CultureInfo.InvariantCulture, $"config:{key}={value?.ReplaceLineEndings("\\n")}\n");
            }
        }

        if (SystemdCredentials.TryRead("bin.key", out byte[] binary))
        {
            text.Append(CultureInfo.InvariantCulture, $"binary:bin.key={Convert.ToHexString(binary)}\n");
        }

        text.Append(CultureInfo.InvariantCulture, $"reloads={Volatile.Read(ref _reloads)}\npressure={Volatile.Read(ref _pressure)}\n");
        lock (this)
        {
            File.WriteAllText(path + ".tmp", text.ToString());
            File.Move(path + ".tmp", path, overwrite: true);
        }
    }

    private static IEnumerable<string> Keys(IConfigurationProvider provider, string? parent)
    {
        foreach (string child in provider.GetChildKeys([], parent).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal))
        {
            string key = parent is null ? child : parent + ":" + child;
            if (provider.TryGet(key, out _))
            {
                yield return key;
            }

            foreach (string nested in Keys(provider, key))
            {
                yield return nested;
            }
        }
    }

    private static string Uid() => File.ReadLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal)).Split('\t')[2];

    private static string Owner(string path)
    {
        // .NET has no API for a file's owner: ask stat(1) (the test compares numbers).
        using var ls = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        string owner = ls.StandardOutput.ReadToEnd().Trim();
        ls.WaitForExit();
        return owner;
    }
}
