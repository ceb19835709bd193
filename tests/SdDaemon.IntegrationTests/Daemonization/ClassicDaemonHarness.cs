using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Daemonization;

/// <summary>
/// Makes the test host a child subreaper (prctl PR_SET_CHILD_SUBREAPER) for the daemonization
/// tests, so that an orphaned daemon started from a terminal below us is re-parented to us (and
/// reaped by us) instead of to pid 1; its parent pid is then exactly ours.
/// </summary>
public sealed partial class SubreaperFixture : IDisposable
{
    private const int PR_SET_CHILD_SUBREAPER = 36;

    public SubreaperFixture()
    {
        Assert.Equal(0, Prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    }

    public void Dispose() => _ = Prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nuint argument2, nuint argument3, nuint argument4, nuint argument5);
}

[CollectionDefinition(Name)]
public sealed class ClassicDaemonCollection : ICollectionFixture<SubreaperFixture>
{
    public const string Name = "classic daemons (test host is a subreaper)";
}

/// <summary>Starts examples/ClassicDaemon (built next to the tests) from a real terminal and looks at the result through /proc.</summary>
public static partial class ClassicDaemon
{
    public static string Directory => AppContext.BaseDirectory;

    public static string DllPath => Path.Combine(AppContext.BaseDirectory, "ClassicDaemon.dll");

    public static string AppHostPath => Path.Combine(AppContext.BaseDirectory, "ClassicDaemon");

    /// <summary>The shell words that run the example with <c>dotnet</c>.</summary>
    public static string Command(string arguments) => $"{Quote(TestDaemon.DotnetPath)} {Quote(DllPath)} {arguments}";

    public static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>
    /// Runs <paramref name="shellCommand"/> under <c>script</c>, on a new pseudo-terminal that is the
    /// shell's controlling terminal; returns the command's exit status and what it printed there.
    /// </summary>
    public static ProcessResult RunInTerminal(string shellCommand, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        string command = workingDirectory is null ? shellCommand : $"cd {Quote(workingDirectory)} && {shellCommand}";
        // script(1) runs $SHELL: pinned to bash, because CI has no SHELL and dash cannot name a descriptor above 9.
        ProcessResult result = ProcessRunner.Run("/usr/bin/script", ["-qec", command, "/dev/null"], new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = null, ["SHELL"] = "/bin/bash" }, timeout ?? TimeSpan.FromSeconds(60));
        // The terminal gets the .NET console's keypad-mode sequences (ESC [?1h ESC =) too: drop escape sequences.
        string text = TerminalEscape().Replace(result.Stdout, "").Replace("\r\n", "\n", StringComparison.Ordinal);
        return result with { Stdout = text };
    }

    public static int ReadPidFile(string path)
    {
        string text = File.ReadAllText(path);
        Assert.Matches("^[1-9][0-9]*\n$", text);
        return int.Parse(text.TrimEnd('\n'), CultureInfo.InvariantCulture);
    }

    /// <summary>A line of /proc/PID/status, e.g. "Uid" -> "0\t0\t0\t0".</summary>
    public static string Status(int pid, string key)
    {
        foreach (string line in File.ReadAllLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..].Trim();
            }
        }

        throw new KeyNotFoundException($"{key} not in /proc/{pid}/status");
    }

    /// <summary>The soft limit of a line of /proc/PID/limits, e.g. "Max open files" -> "1024".</summary>
    public static string Limits(int pid, string name) =>
        File.ReadAllLines($"/proc/{pid}/limits").Single(l => l.StartsWith(name, StringComparison.Ordinal))[name.Length..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];

    /// <summary>Fields of /proc/PID/stat after the command name: [0] state (field 3), [1] ppid, [2] pgrp, [3] session (6), [4] tty_nr (7).</summary>
    public static string[] Stat(int pid)
    {
        string text = File.ReadAllText($"/proc/{pid}/stat");
        return text[(text.LastIndexOf(')') + 2)..].Split(' ');
    }

    /// <summary>fd number -> link target and flags (octal, from fdinfo).</summary>
    public static Dictionary<int, (string Target, int Flags)> Descriptors(int pid)
    {
        var result = new Dictionary<int, (string, int)>();
        foreach (string entry in System.IO.Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            int fd = int.Parse(Path.GetFileName(entry), CultureInfo.InvariantCulture);
            string? target = null;
            try
            {
                target = new FileInfo(entry).LinkTarget;
            }
            catch (IOException)
            {
                continue;
            }

            string flags = File.ReadAllLines($"/proc/{pid}/fdinfo/{fd}").First(l => l.StartsWith("flags:", StringComparison.Ordinal));
            result[fd] = (target ?? "", Convert.ToInt32(flags["flags:".Length..].Trim(), 8));
        }

        return result;
    }

    public static bool IsAlive(int pid) => File.Exists($"/proc/{pid}/stat") && Stat(pid)[0] != "Z";

    /// <summary>Waits for <paramref name="pid"/> to exit and reaps it if it is our (adopted) child.</summary>
    public static bool WaitForExit(int pid, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            int status;
            int result;
            unsafe
            {
                result = WaitPid(pid, &status, 1 /* WNOHANG */);
            }

            if (result == pid || (result < 0 && !IsAlive(pid)))
            {
                return true;
            }

            Thread.Sleep(20);
        }

        return false;
    }

    /// <summary>Kills a daemon left behind by a failed test (cleanup only).</summary>
    public static void KillQuietly(string pidFile)
    {
        try
        {
            if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out int pid) && IsAlive(pid)
                && File.ReadAllText($"/proc/{pid}/cmdline").Contains("ClassicDaemon", StringComparison.Ordinal))
            {
                _ = ProcessRunner.Run("/bin/kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)]);
                WaitForExit(pid, TimeSpan.FromSeconds(5));
            }
        }
        catch (IOException)
        {
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("\x1b(\\[[0-9;?]*[A-Za-z]|[=>])")]
    private static partial System.Text.RegularExpressions.Regex TerminalEscape();

    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static unsafe partial int WaitPid(int pid, int* status, int options);
}

/// <summary>A test's own 0755 directory for the example daemon's pid file and logs; disposing it
/// kills a daemon still named by the pid file and removes the directory.</summary>
public sealed class DaemonDirectory : IDisposable
{
    public DaemonDirectory(string prefix)
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(Path, (UnixFileMode)0x1ED); // 0755
    }

    public string Path { get; }

    public string PidFile => System.IO.Path.Combine(Path, "daemon.pid");

    public void Dispose()
    {
        ClassicDaemon.KillQuietly(PidFile);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
