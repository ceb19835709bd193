using System.Collections;
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
    public static unsafe ActivatedProcess Start(string program, IEnumerable<string> arguments, IReadOnlyList<PassedFile> files, IDictionary<string, string?>? environment = null)
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

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            variables[(string)entry.Key] = (string)entry.Value!;
        }

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
        string[] argv = ["/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\"", program, .. arguments];
        string[] envp = variables.Select(pair => pair.Key + "=" + pair.Value).ToArray();

        var scratch = new int[files.Count];
        Array.Fill(scratch, -1);
        var references = new bool[files.Count];
        byte* actions = stackalloc byte[Libc.SpawnStructBytes];
        bool actionsReady = false;
        try
        {
            for (int i = 0; i < files.Count; i++)
            {
                files[i].Handle.DangerousAddRef(ref references[i]);
                // A sources might sit where another must go (fd 3..): move every one far away first.
                scratch[i] = Libc.Fcntl((int)files[i].Handle.DangerousGetHandle(), F_DUPFD_CLOEXEC, ScratchFdBase);
                if (scratch[i] < 0)
                {
                    throw new IOException($"fcntl(F_DUPFD_CLOEXEC) of '{files[i].Name}' failed: errno {Libc.LastErrno}");
                }
            }

            Check(Libc.SpawnFileActionsInit(actions), "posix_spawn_file_actions_init");
            actionsReady = true;
            for (int i = 0; i < files.Count; i++)
            {
                // dup2 onto 3+i in the child; the copy there is not close-on-exec.
                Check(Libc.SpawnFileActionsAddDup2(actions, scratch[i], 3 + i), "posix_spawn_file_actions_adddup2");
            }

            int pid = Spawn(argv, envp, actions);
            return new ActivatedProcess(pid);
        }
        finally
        {
            if (actionsReady)
            {
                _ = Libc.SpawnFileActionsDestroy(actions);
            }

            foreach (int fd in scratch)
            {
                Libc.CloseQuietly(fd);
            }

            for (int i = 0; i < files.Count; i++)
            {
                if (references[i])
                {
                    files[i].Handle.DangerousRelease();
                }
            }
        }
    }

    private const int F_DUPFD_CLOEXEC = 1030;

    private static unsafe int Spawn(string[] argv, string[] envp, byte* actions)
    {
        byte[][] argvBytes = argv.Select(Libc.Utf8Z).ToArray();
        byte[][] envBytes = envp.Select(Libc.Utf8Z).ToArray();
        var pins = new List<GCHandle>();
        try
        {
            byte** argvPointers = stackalloc byte*[argvBytes.Length + 1];
            byte** envPointers = (byte**)NativeMemory.Alloc((nuint)(envBytes.Length + 1), (nuint)sizeof(byte*));
            try
            {
                for (int i = 0; i < argvBytes.Length; i++)
                {
                    GCHandle pin = GCHandle.Alloc(argvBytes[i], GCHandleType.Pinned);
                    pins.Add(pin);
                    argvPointers[i] = (byte*)pin.AddrOfPinnedObject();
                }

                argvPointers[argvBytes.Length] = null;
                for (int i = 0; i < envBytes.Length; i++)
                {
                    GCHandle pin = GCHandle.Alloc(envBytes[i], GCHandleType.Pinned);
                    pins.Add(pin);
                    envPointers[i] = (byte*)pin.AddrOfPinnedObject();
                }

                envPointers[envBytes.Length] = null;
                int pid;
                int error = Libc.PosixSpawn(&pid, argvPointers[0], actions, null, argvPointers, envPointers);
                if (error != 0)
                {
                    throw new IOException($"posix_spawn({argv[3]}) failed: errno {error} ({Marshal.GetPInvokeErrorMessage(error)})");
                }

                return pid;
            }
            finally
            {
                NativeMemory.Free(envPointers);
            }
        }
        finally
        {
            foreach (GCHandle pin in pins)
            {
                pin.Free();
            }
        }
    }

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new IOException($"{what} failed: errno {error}");
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

    private unsafe int? Reap(bool block)
    {
        lock (_gate)
        {
            if (_status is null)
            {
                int status;
                int result = Libc.WaitPid(Pid, &status, block ? 0 : 1 /* WNOHANG */);
                if (result == Pid)
                {
                    int signal = status & 0x7f;
                    _status = signal == 0 ? (status >> 8) & 0xff : 128 + signal;
                }
            }

            return _status;
        }
    }
}
