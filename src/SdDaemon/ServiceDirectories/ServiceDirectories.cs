using SdDaemon.Environ;

namespace SdDaemon;

/// <summary>
/// The service's own directories as the manager passed them: <c>$RUNTIME_DIRECTORY</c>,
/// <c>$STATE_DIRECTORY</c>, <c>$CACHE_DIRECTORY</c>, <c>$LOGS_DIRECTORY</c> and
/// <c>$CONFIGURATION_DIRECTORY</c>, each a <c>:</c>-separated list of absolute paths, in the order
/// of the unit's setting (see <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#RuntimeDirectory=">systemd.exec(5)</see>).
/// The manager creates them, owned by the unit's User= (Configuration excepted), before the
/// service starts. Outside a manager, or for a setting the unit does not use, the list is empty
/// (spec S-1).
/// </summary>
public sealed class ServiceDirectories
{
    private readonly IReadOnlyList<string>[] _paths;

    private ServiceDirectories(IReadOnlyList<string>[] paths) => _paths = paths;

    /// <summary>The paths of RuntimeDirectory=.</summary>
    public IReadOnlyList<string> Runtime => _paths[(int)ServiceDirectoryKind.Runtime];

    /// <summary>The paths of StateDirectory=.</summary>
    public IReadOnlyList<string> State => _paths[(int)ServiceDirectoryKind.State];

    /// <summary>The paths of CacheDirectory=.</summary>
    public IReadOnlyList<string> Cache => _paths[(int)ServiceDirectoryKind.Cache];

    /// <summary>The paths of LogsDirectory=.</summary>
    public IReadOnlyList<string> Logs => _paths[(int)ServiceDirectoryKind.Logs];

    /// <summary>The paths of ConfigurationDirectory=.</summary>
    public IReadOnlyList<string> Configuration => _paths[(int)ServiceDirectoryKind.Configuration];

    /// <summary>The paths of one kind.</summary>
    public IReadOnlyList<string> Get(ServiceDirectoryKind kind) => _paths[(int)kind];

    /// <summary>The first path of one kind (the unit's first name for it), or null when there is none.</summary>
    public string? GetFirst(ServiceDirectoryKind kind) => _paths[(int)kind] is [string first, ..] ? first : null;

    /// <summary>The environment variable that carries one kind (<c>STATE_DIRECTORY</c> ...).</summary>
    public static string VariableName(ServiceDirectoryKind kind) => kind switch
    {
        ServiceDirectoryKind.Runtime => EnvironmentVariables.RuntimeDirectory,
        ServiceDirectoryKind.State => EnvironmentVariables.StateDirectory,
        ServiceDirectoryKind.Cache => EnvironmentVariables.CacheDirectory,
        ServiceDirectoryKind.Logs => EnvironmentVariables.LogsDirectory,
        ServiceDirectoryKind.Configuration => EnvironmentVariables.ConfigurationDirectory,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a service directory kind"),
    };

    /// <summary>Reads the five variables of this process.</summary>
    /// <exception cref="FormatException">A variable holds a path that is not absolute (spec S-1).</exception>
    public static ServiceDirectories FromEnvironment() => FromEnvironment(ProcessEnvironmentSource.Instance);

    internal static ServiceDirectories FromEnvironment(IEnvironmentSource environment)
    {
        var paths = new IReadOnlyList<string>[Enum.GetValues<ServiceDirectoryKind>().Length];
        foreach (ServiceDirectoryKind kind in Enum.GetValues<ServiceDirectoryKind>())
        {
            paths[(int)kind] = Parse(VariableName(kind), environment.Get(VariableName(kind)));
        }

        return new ServiceDirectories(paths);
    }

    private static string[] Parse(string variable, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return [];
        }

        string[] paths = value.Split(':', StringSplitOptions.RemoveEmptyEntries);
        foreach (string path in paths)
        {
            if (path[0] != '/')
            {
                throw new FormatException($"{variable} holds '{path}', which is not an absolute path");
            }
        }

        return paths;
    }
}
