using System.Collections;
using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// One posix_spawn(3): its file actions and attributes, and argv and envp pinned for the call.
/// The one spawn layer for classic daemonization's stages and the testing kit's activation launcher
/// (the runtime cannot run managed code after fork(), spec D-16, so both spawn).
/// </summary>
internal sealed unsafe class ProcessSpawn : IDisposable
{
    private readonly void* _actions = NativeMemory.AllocZeroed(Libc.SpawnStructBytes);
    private readonly void* _attributes = NativeMemory.AllocZeroed(Libc.SpawnStructBytes);
    private readonly List<GCHandle> _pinned = [];

    public ProcessSpawn()
    {
        // glibc's init calls only clear the structures (they cannot fail), and destroying a cleared one frees nothing.
        _ = Libc.SpawnFileActionsInit(_actions);
        _ = Libc.SpawnAttrInit(_attributes);
    }

    /// <summary>The process environment as a dictionary (what Process.Start children would get).</summary>
    public static Dictionary<string, string> CurrentEnvironment()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            result[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        return result;
    }

    /// <summary>Opens <paramref name="path"/> as <paramref name="fd"/> in the child.</summary>
    public void Open(int fd, string path, int flags) =>
        Check(Libc.SpawnFileActionsAddOpen(_actions, fd, (byte*)Pin(Libc.Utf8Z(path)), flags, 0), "posix_spawn_file_actions_addopen");

    /// <summary>dup2 in the child: the copy there is not close-on-exec (also onto itself, glibc 2.29+).</summary>
    public void Dup2(int fd, int target) =>
        Check(Libc.SpawnFileActionsAddDup2(_actions, fd, target), "posix_spawn_file_actions_adddup2");

    /// <summary>Closes <paramref name="fd"/> in the child; the error number, as the caller may handle EBADF (a descriptor at or above RLIMIT_NOFILE).</summary>
    public int TryClose(int fd) => Libc.SpawnFileActionsAddClose(_actions, fd);

    /// <summary>Closes every descriptor from <paramref name="from"/> on in the child; ENOSYS where glibc lacks it (before 2.34).</summary>
    public int TryCloseFrom(int from)
    {
        try
        {
            return Libc.SpawnFileActionsAddCloseFrom(_actions, from);
        }
        catch (EntryPointNotFoundException)
        {
            return Errno.ENOSYS;
        }
    }

    /// <summary>Every signal back to its default action and an empty signal mask; with <paramref name="newSession"/> a new session too (POSIX_SPAWN_SETSID).</summary>
    public void ResetSignals(bool newSession)
    {
        byte* allSignals = stackalloc byte[128]; // sigset_t; the attributes keep a copy
        byte* noSignals = stackalloc byte[128];
        _ = Libc.SigFillSet(allSignals);
        _ = Libc.SigEmptySet(noSignals);
        short flags = (short)(Libc.POSIX_SPAWN_SETSIGDEF | Libc.POSIX_SPAWN_SETSIGMASK | (newSession ? Libc.POSIX_SPAWN_SETSID : 0));
        Check(Libc.SpawnAttrSetFlags(_attributes, flags), "posix_spawnattr_setflags");
        Check(Libc.SpawnAttrSetSigDefault(_attributes, allSignals), "posix_spawnattr_setsigdefault");
        Check(Libc.SpawnAttrSetSigMask(_attributes, noSignals), "posix_spawnattr_setsigmask");
    }

    /// <summary>
    /// Starts <paramref name="path"/> with <paramref name="arguments"/> (argv, each null-terminated) and
    /// <paramref name="environment"/>; its pid. <paramref name="description"/> names it in the error.
    /// </summary>
    /// <exception cref="IOException">posix_spawn failed (HResult: the errno).</exception>
    public int Start(string path, IReadOnlyList<byte[]> arguments, IReadOnlyDictionary<string, string> environment, string description)
    {
        var argv = new nint[arguments.Count + 1]; // both null-terminated
        var envp = new nint[environment.Count + 1];
        for (int i = 0; i < arguments.Count; i++)
        {
            argv[i] = Pin(arguments[i]);
        }

        int e = 0;
        foreach ((string key, string value) in environment)
        {
            envp[e++] = Pin(Libc.Utf8Z(key + "=" + value));
        }

        int pid;
        int error = Libc.PosixSpawn(&pid, (byte*)Pin(Libc.Utf8Z(path)), _actions, _attributes, (byte**)Pin(argv), (byte**)Pin(envp));
        if (error != 0)
        {
            throw new IOException(Errno.Describe($"posix_spawn({description}) failed", error)) { HResult = error };
        }

        return pid;
    }

    /// <summary>A failed spawn set-up call, as an IOException whose HResult is the errno.</summary>
    public static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new IOException($"{what} failed: errno {error}") { HResult = error };
        }
    }

    public void Dispose()
    {
        _ = Libc.SpawnFileActionsDestroy(_actions);
        _ = Libc.SpawnAttrDestroy(_attributes);

        NativeMemory.Free(_actions);
        NativeMemory.Free(_attributes);
        foreach (GCHandle handle in _pinned)
        {
            handle.Free();
        }

        _pinned.Clear();
    }

    private nint Pin(Array array)
    {
        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        _pinned.Add(handle);
        return handle.AddrOfPinnedObject();
    }
}
