using System.Globalization;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// Starts the next stage: posix_spawn of this very executable (<see cref="CommandLine.Executable"/>)
/// with this process's exact argv (in the same working directory), the stage marker, stdio on /dev/null, every signal back to its default
/// action and an empty signal mask (daemon(7) steps 2-3), a new session for the session leader
/// (POSIX_SPAWN_SETSID, step 6), and no descriptor but 0-2, the kept ones and the marker pipe
/// (step 1): descriptors without FD_CLOEXEC that this process inherited are closed in the child,
/// the runtime's own are close-on-exec. The kept ones are dup2'ed onto themselves, which clears
/// FD_CLOEXEC in the child only (glibc 2.29+), so nothing in this process changes.
/// </summary>
internal static unsafe class StageSpawner
{
    public static int Spawn(DaemonStage next, IReadOnlyList<int> keptFds, IReadOnlyDictionary<string, string> environment)
    {
        int* pipe = stackalloc int[2];
        if (Libc.Pipe2(pipe, Libc.O_CLOEXEC) != 0)
        {
            throw new IOException($"pipe2 failed: errno {Libc.LastErrno}");
        }

        string token = StageMarker.NewToken();
        byte[] tokenBytes = Encoding.ASCII.GetBytes(token);
        fixed (byte* t = tokenBytes)
        {
            nint written = Libc.Write(pipe[1], t, (nuint)tokenBytes.Length);
            Libc.CloseQuietly(pipe[1]);
            if (written != tokenBytes.Length)
            {
                Libc.CloseQuietly(pipe[0]);
                throw new IOException("cannot write the stage token");
            }
        }

        var marker = new StageMarker(next, pipe[0], token, keptFds);
        var childEnvironment = new Dictionary<string, string>(environment, StringComparer.Ordinal)
        {
            [StageMarker.Variable] = marker.Format(),
        };

        try
        {
            using var spawn = new ProcessSpawn();
            for (int fd = 0; fd <= 2; fd++)
            {
                spawn.Open(fd, "/dev/null", Libc.O_RDWR | Libc.O_NOCTTY);
            }

            var keep = new HashSet<int>(keptFds) { pipe[0] };
            foreach (int fd in keep)
            {
                spawn.Dup2(fd, fd);
            }

            AddCloseInherited(spawn, keep);
            spawn.ResetSignals(newSession: next == DaemonStage.SessionLeader);
            byte[][] arguments = CommandLine.Current();
            string executable = CommandLine.Executable(arguments[0]);
            return spawn.Start(executable, arguments.Select(a => (byte[])[.. a, 0]).ToArray(), childEnvironment, $"{executable} {CommandLine.Describe(arguments)}");
        }
        finally
        {
            Libc.CloseQuietly(pipe[0]);
        }
    }

    /// <summary>The process environment as a dictionary (what Process.Start children would get), without the stage marker.</summary>
    public static Dictionary<string, string> CurrentEnvironment()
    {
        Dictionary<string, string> result = ProcessSpawn.CurrentEnvironment();
        result.Remove(StageMarker.Variable);
        return result;
    }

    /// <summary>
    /// The DOTNET_* variables a sanitized environment keeps: only where the runtime is (what an
    /// apphost needs to start at all). Not DOTNET_STARTUP_HOOKS, DOTNET_ADDITIONAL_DEPS,
    /// DOTNET_SHARED_STORE and the like, which load code, nor diagnostics or tuning knobs.
    /// </summary>
    internal static readonly string[] RuntimeVariables = ["DOTNET_ROOT", "DOTNET_ROOT_X64", "DOTNET_ROOT_ARM64"];

    /// <summary>daemon(7) step 4: PATH, the named variables, <see cref="RuntimeVariables"/> and NOTIFY_SOCKET.</summary>
    public static Dictionary<string, string> Sanitize(IReadOnlyDictionary<string, string> environment, IEnumerable<string> keep)
    {
        var kept = new HashSet<string>(keep, StringComparer.Ordinal) { EnvironmentVariables.NotifySocket };
        kept.UnionWith(RuntimeVariables);
        var result = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        };
        foreach ((string key, string value) in environment)
        {
            if (kept.Contains(key))
            {
                result[key] = value;
            }
        }

        return result;
    }

    /// <summary>
    /// Step 1: a close action for every inherited descriptor that is not kept. glibc refuses to name
    /// a descriptor at or above RLIMIT_NOFILE in a file action (EBADF), yet one can be open (inherited
    /// from a parent with a higher limit, or the limit lowered since): those are closed by one
    /// closefrom above the highest kept descriptor (spec D-17), which closes nothing the child needs
    /// (the runtime's own are close-on-exec anyway). Only where glibc lacks closefrom (before 2.34)
    /// do they get FD_CLOEXEC in this process instead, the one way left to keep them from the child.
    /// </summary>
    private static void AddCloseInherited(ProcessSpawn spawn, HashSet<int> keep)
    {
        var unnamable = new List<int>();
        foreach (int fd in InheritedDescriptors())
        {
            if (keep.Contains(fd))
            {
                continue;
            }

            int error = spawn.TryClose(fd);
            if (error == Errno.EBADF)
            {
                unnamable.Add(fd);
            }
            else
            {
                ProcessSpawn.Check(error, "posix_spawn_file_actions_addclose");
            }
        }

        if (unnamable.Count == 0)
        {
            return;
        }

        int from = Math.Max(2, keep.Max()) + 1;
        if ((from < unnamable.Min() ? spawn.TryCloseFrom(from) : Errno.EBADF) != 0)
        {
            foreach (int fd in unnamable)
            {
                _ = Libc.Fcntl(fd, Libc.F_SETFD, Libc.FD_CLOEXEC);
            }
        }
    }

    /// <summary>Descriptors above 2 without FD_CLOEXEC: inherited by this process, or opened without the flag.</summary>
    internal static List<int> InheritedDescriptors()
    {
        var result = new List<int>();
        foreach (string entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd) && fd > 2)
            {
                int flags = Libc.Fcntl(fd, Libc.F_GETFD, 0);
                if (flags >= 0 && (flags & Libc.FD_CLOEXEC) == 0)
                {
                    result.Add(fd);
                }
            }
        }

        return result;
    }
}
