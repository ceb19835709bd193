using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using SdDaemon.Interop;

namespace SdDaemon.Testing;

/// <summary>A descriptor to pass to an activated process, and the name it gets in LISTEN_FDNAMES.</summary>
/// <param name="Handle">The descriptor (a listening socket, a FIFO...); the caller keeps its own.</param>
/// <param name="Name">Its name (FileDescriptorName= of a socket unit): valid FDNAME rules.</param>
public sealed record PassedFile(SafeHandle Handle, string Name);

/// <summary>
/// The manager's side of socket activation (<see href="https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html">sd_listen_fds(3)</see>),
/// for tests and local runs, like <c>systemd-socket-activate</c>: starts a program with the given
/// descriptors as fds 3, 4, ... and LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID (its own pid) set.
/// </summary>
[SupportedOSPlatform("linux")]
public static class ActivationLauncher
{
    /// <summary>Where duplicates wait while the child's fds 3.. are arranged, far above them.</summary>
    private const int ScratchFdBase = 1024;

    /// <summary>
    /// Starts <paramref name="program"/> activated with <paramref name="files"/>. The environment is
    /// this process's (.NET's view), with <paramref name="environment"/> applied (null removes).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a valid FDNAME, or more than 253 files.</exception>
    /// <exception cref="IOException">The program could not be started.</exception>
    public static ActivatedProcess Start(string program, IEnumerable<string> arguments, IReadOnlyList<PassedFile> files, IDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count > Libc.ScmMaxFd)
        {
            throw new ArgumentException($"{files.Count} descriptors is more than systemd passes ({Libc.ScmMaxFd}).", nameof(files));
        }

        foreach (PassedFile file in files)
        {
            NotifyState.FdName(file.Name); // the manager's rules for names
        }

        Dictionary<string, string> variables = ProcessSpawn.CurrentEnvironment();
        foreach ((string key, string? value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                variables.Remove(key);
            }
            else
            {
                variables[key] = value;
            }
        }

        variables.Remove(EnvironmentVariables.ListenPid);
        variables.Remove(EnvironmentVariables.ListenPidFdId);
        variables[EnvironmentVariables.ListenFds] = files.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        variables[EnvironmentVariables.ListenFdNames] = string.Join(':', files.Select(f => f.Name));

        // The pid is known only once the process exists: a shell sets LISTEN_PID=$$ and execs the
        // program, keeping its pid (and fds 3..).
        byte[][] argv = [.. new[] { "/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"", program }.Concat(arguments).Select(Libc.Utf8Z)];

        var scratch = new int[files.Count];
        Array.Fill(scratch, -1);
        var references = new HandleReference[files.Count];
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                references[i] = HandleReference.Add(files[i].Handle);
                // A sources might sit where another must go (fd 3..): move every one far away first.
                scratch[i] = Libc.Fcntl(references[i].Fd, Libc.F_DUPFD_CLOEXEC, ScratchFdBase);
                if (scratch[i] < 0)
                {
                    throw new IOException($"fcntl(F_DUPFD_CLOEXEC) of '{files[i].Name}' failed: errno {Libc.LastErrno}");
                }
            }

            using var spawn = new ProcessSpawn();
            for (int i = 0; i < files.Count; i++)
            {
                spawn.Dup2(scratch[i], 3 + i);
            }

            return new ActivatedProcess(spawn.Start("/bin/sh", argv, variables, program));
        }
        finally
        {
            foreach (int fd in scratch)
            {
                Libc.CloseQuietly(fd);
            }

            foreach (HandleReference reference in references)
            {
                reference.Dispose();
            }
        }
    }
}

/// <summary>A process started by <see cref="ActivationLauncher"/>: its pid, its exit, a signal. Dispose kills it if it still runs, and reaps it.</summary>
[SupportedOSPlatform("linux")]
public sealed class ActivatedProcess : IDisposable
{
    private readonly object _gate = new();
    private int? _status;

    internal ActivatedProcess(int pid) => Pid = pid;

    /// <summary>The process id, which is also its LISTEN_PID.</summary>
    public int Pid { get; }

    /// <summary>The exit code once it exited (128 + the signal if a signal ended it); null while it runs.</summary>
    public int? ExitCode => Reap(block: false);

    /// <summary>Waits for the exit at most <paramref name="timeout"/>; true with <see cref="ExitCode"/> set when it exited.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        DateTime end = DateTime.UtcNow + timeout;
        while (Reap(block: false) is null)
        {
            if (DateTime.UtcNow >= end)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    /// <summary>Sends <paramref name="signal"/> (15 SIGTERM by default) if it still runs.</summary>
    public void Signal(int signal = 15)
    {
        if (Reap(block: false) is null)
        {
            _ = Libc.Kill(Pid, signal);
        }
    }

    /// <summary>Kills (SIGKILL) and reaps the process if it still runs.</summary>
    public void Dispose()
    {
        if (Reap(block: false) is null)
        {
            _ = Libc.Kill(Pid, 9);
            Reap(block: true);
        }
    }

    private int? Reap(bool block)
    {
        lock (_gate)
        {
            if (_status is null && ChildProcess.Wait(Pid, block, out WaitStatus status) == Pid)
            {
                _status = status.ShellExitCode;
            }

            return _status;
        }
    }
}
