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

    /// <summary>The manager's pid as its services see it: the parent of an orphaned daemon (1 for
    /// PID 1, the user manager's pid for the user manager, a subreaper).</summary>
    int ManagerPidSeenByServices { get; }

    /// <summary>A new directory at the same path for the test and for the manager's services,
    /// writable by every user (units with User=nobody write there too); removed with the manager
    /// at the latest.</summary>
    string CreateSharedDirectory(string prefix);
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

    /// <summary>A file of /proc/PID/ as the manager's services see it (the container has its own
    /// pid namespace: its pids mean nothing on the host); null when the process is gone.</summary>
    public static string? ReadProc(IRealManager manager, int pid, string file)
    {
        ProcessResult result = manager.InNamespace("cat", $"/proc/{pid}/{file}");
        return result.ExitCode == 0 ? result.Stdout : null;
    }

    /// <summary>A line of /proc/PID/status, e.g. "PPid" -> "1", seen where the services run.</summary>
    public static string ProcStatus(IRealManager manager, int pid, string key)
    {
        string status = ReadProc(manager, pid, "status") ?? throw new InvalidOperationException($"{manager.Name}: no process {pid}");
        return status.Split('\n').Single(l => l.StartsWith(key + ":", StringComparison.Ordinal))[(key.Length + 1)..].Trim();
    }

    /// <summary>Fields of /proc/PID/stat after the command name ([0] state, [1] ppid, [2] pgrp,
    /// [3] session), seen where the services run; null when the process is gone.</summary>
    public static string[]? ProcStat(IRealManager manager, int pid) =>
        ReadProc(manager, pid, "stat") is { } text ? text[(text.LastIndexOf(')') + 2)..].Split(' ') : null;

    /// <summary>Polls until the process is gone or a zombie; false when it still runs after the timeout.</summary>
    public static bool WaitForExit(IRealManager manager, int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        do
        {
            if (ProcStat(manager, pid) is not { } stat || stat[0] == "Z")
            {
                return true;
            }

            Thread.Sleep(50);
        }
        while (stopwatch.Elapsed < timeout);
        return false;
    }

    /// <summary>A new directory below <paramref name="parent"/> (or in the temp folder), mode 0777.</summary>
    public static string CreateSharedDirectory(string? parent, string prefix)
    {
        string directory = parent is null
            ? Directory.CreateTempSubdirectory(prefix).FullName
            : Directory.CreateDirectory(Path.Combine(parent, prefix + Guid.NewGuid().ToString("N")[..8])).FullName;
        File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        return directory;
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
