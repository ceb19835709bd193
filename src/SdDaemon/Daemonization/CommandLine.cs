using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// The exact command line this process was started with, from <c>/proc/self/cmdline</c>: argv[0]
/// as given (<c>dotnet</c>, <c>./app</c>, <c>/opt/app/app</c>) and every argument byte for byte, so
/// that re-executing <c>/proc/self/exe</c> with it (in the same working directory) runs the same
/// program the same way, whether it is an apphost, <c>dotnet app.dll</c> or a single-file bundle.
/// Environment.GetCommandLineArgs() cannot do this: under the dotnet host it reports the dll.
/// </summary>
internal static class CommandLine
{
    public const string SelfExecutable = "/proc/self/exe";

    /// <summary>Splits the NUL-separated argv of /proc/PID/cmdline; arguments may be empty.</summary>
    /// <exception cref="FormatException">Empty, or not NUL-terminated (a process that rewrote its argv area).</exception>
    public static byte[][] Parse(ReadOnlySpan<byte> cmdline)
    {
        if (cmdline.IsEmpty || cmdline[^1] != 0)
        {
            throw new FormatException("/proc/self/cmdline is empty or not NUL-terminated; the command line cannot be reproduced.");
        }

        var arguments = new List<byte[]>();
        while (!cmdline.IsEmpty)
        {
            int end = cmdline.IndexOf((byte)0);
            arguments.Add(cmdline[..end].ToArray());
            cmdline = cmdline[(end + 1)..];
        }

        return [.. arguments];
    }

    /// <summary>The current process's argv, byte for byte.</summary>
    public static byte[][] Current() => Parse(File.ReadAllBytes("/proc/self/cmdline"));

    /// <summary>
    /// The path to execute for the next stage: the running executable under a name that keeps the
    /// program's name. The kernel names a process (comm: ps, pgrep -x, systemctl status "Main PID:
    /// N (name)") after the last component of the path given to execve, so /proc/self/exe would
    /// make every stage "exe" (spec D-23). So: <paramref name="argv0"/> when it is a path
    /// (relative ones from the unchanged working directory), else what /proc/self/exe links to,
    /// each only when it still is the very file running now (same device and inode); otherwise
    /// (the program was replaced or deleted since it started) /proc/self/exe itself.
    /// </summary>
    public static string Executable(byte[] argv0)
    {
        if (!Libc.TryStat(-1, SelfExecutable, out FileIdentity self, out _))
        {
            return SelfExecutable;
        }

        string first = Encoding.UTF8.GetString(argv0);
        string? linked = null;
        try
        {
            linked = new FileInfo(SelfExecutable).LinkTarget;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        foreach (string? candidate in new[] { first.Contains('/', StringComparison.Ordinal) ? first : null, linked })
        {
            if (candidate is not null && !candidate.Contains('\0', StringComparison.Ordinal)
                && Libc.TryStat(-1, candidate, out FileIdentity identity, out _) && identity.SameFile(self))
            {
                return candidate;
            }
        }

        return SelfExecutable;
    }

    /// <summary>For messages: the arguments as text.</summary>
    public static string Describe(IEnumerable<byte[]> arguments) => string.Join(' ', arguments.Select(a => Encoding.UTF8.GetString(a)));

    /// <summary>The program's name for messages: argv[0]'s file name, or the dll's under the dotnet host.</summary>
    public static string ProgramName()
    {
        try
        {
            byte[][] argv = Current();
            string name = Path.GetFileName(Encoding.UTF8.GetString(argv[0]));
            return name is "dotnet" && argv.Length > 1 ? Path.GetFileNameWithoutExtension(Encoding.UTF8.GetString(argv[1])) : name;
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            // /proc/self/cmdline cannot be read (no free descriptor): the runtime's copy of the
            // command line names the program, or its dll under the dotnet host.
            string[] arguments = System.Environment.GetCommandLineArgs();
            return arguments.Length > 0 && arguments[0].Length > 0 ? Path.GetFileNameWithoutExtension(arguments[0]) : "daemon";
        }
    }
}
