using System.Diagnostics;

namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>
/// A real systemd service manager the tests drive with its own tools: the 252 user manager
/// (<see cref="SystemdUserManager"/>) or systemd as PID 1 in a container
/// (<see cref="Pid1Container"/>). A test written against this runs under every manager of the
/// matrix.
/// </summary>
public interface IRealManager
{
    /// <summary>What this manager is, for messages ("systemd 262 as PID 1").</summary>
    string Name { get; }

    /// <summary>Fails the test (never skips) when the manager is not running.</summary>
    void EnsureRunning();

    /// <summary>systemctl (with --user for the user manager).</summary>
    ProcessResult Systemctl(params string[] arguments);

    /// <summary>systemd-run --no-block (with --user for the user manager), then the options and command.</summary>
    ProcessResult SystemdRun(params string[] arguments);

    /// <summary>Runs a command where the manager's services run (its mount namespace, or the container).</summary>
    ProcessResult InNamespace(params string[] command);

    /// <summary>systemctl show UNIT -p ... as a dictionary.</summary>
    Dictionary<string, string> Show(string unit, params string[] properties);

    string Property(string unit, string property);

    /// <summary>Polls a property until it has the expected value; returns the last value seen.</summary>
    string WaitForProperty(string unit, string property, string expected, TimeSpan timeout);

    /// <summary>Stops a unit and clears its failed state, ignoring errors (cleanup).</summary>
    void Cleanup(string unit);
}

/// <summary>What every <see cref="IRealManager"/> does the same way.</summary>
public static class RealManager
{
    /// <summary>Parses systemctl show's KEY=VALUE lines.</summary>
    public static Dictionary<string, string> ParseShow(string output)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                values[line[..equals]] = line[(equals + 1)..];
            }
        }

        return values;
    }

    public static string WaitForProperty(IRealManager manager, string unit, string property, string expected, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        string value;
        do
        {
            value = manager.Property(unit, property);
            if (value == expected)
            {
                return value;
            }

            Thread.Sleep(50);
        }
        while (stopwatch.Elapsed < timeout);
        return value;
    }
}
