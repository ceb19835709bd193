using Xunit;
using System.Runtime.InteropServices;
using SdDaemon.Environ;

namespace SdDaemon.Tests.Activation;

/// <summary>An environment made of a dictionary, recording what was removed.</summary>
internal sealed class DictionaryEnvironment : IEnvironmentSource
{
    public DictionaryEnvironment(params (string Name, string? Value)[] variables)
    {
        foreach ((string name, string? value) in variables)
        {
            if (value is not null)
            {
                Values[name] = value;
            }
        }
    }

    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public List<string> Removed { get; } = [];

    public string? Get(string name) => Values.GetValueOrDefault(name);

    public void Remove(string name)
    {
        Removed.Add(name);
        Values.Remove(name);
    }
}

/// <summary>A pid, a pidfd inode id and the claim of passed fds, touching no real descriptor.</summary>
internal sealed class FakeActivationSystem : IActivationSystem
{
    public int ProcessId { get; init; } = 4242;

    public int PidFdIdErrno { get; init; }

    public ulong PidFdId { get; init; } = 777;

    /// <summary>fds that hold no passed descriptor: ClaimPassed fails with EBADF.</summary>
    public HashSet<int> Closed { get; init; } = [];

    public List<int> CloseOnExec { get; } = [];

    public int ClaimPassed(int fd)
    {
        if (Closed.Contains(fd))
        {
            return 9;
        }

        CloseOnExec.Add(fd);
        return 0;
    }

    public int OwnPidFdInodeId(out ulong id)
    {
        id = PidFdIdErrno == 0 ? PidFdId : 0;
        return PidFdIdErrno;
    }
}

/// <summary>libc calls the tests need to make real descriptors that the library itself never makes
/// (the rest come from its Libc, visible to the tests).</summary>
internal static unsafe partial class TestLibc
{
    [LibraryImport("libc", EntryPoint = "mkfifo", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MkFifo(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mq_open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MqOpen(string name, int flags, uint mode, void* attributes);

    [LibraryImport("libc", EntryPoint = "mq_unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int MqUnlink(string name);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "tgkill", SetLastError = true)]
    public static partial int TgKill(int processId, int threadId, int signal);

    public const int F_GETFD = 1;
    public const int FD_CLOEXEC = 1;

    public static bool IsOpen(int fd) => SdDaemon.Interop.Libc.Fcntl(fd, F_GETFD, 0) >= 0;

    public static bool IsCloseOnExec(int fd) => (SdDaemon.Interop.Libc.Fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) != 0;

    /// <summary>
    /// Places a duplicate of <paramref name="fd"/> (without CLOEXEC, as a manager passes it) at the
    /// first of <paramref name="count"/> free descriptor numbers from <paramref name="from"/> on, and
    /// returns the number. High numbers stand in for 3, 4, ... which the runtime already uses.
    /// </summary>
    public static int PlaceAt(int fd, int target)
    {
        Assert.False(IsOpen(target), $"fd {target} is in use");
        int r = SdDaemon.Interop.Libc.Dup2(fd, target);
        Assert.Equal(target, r);
        return target;
    }
}
