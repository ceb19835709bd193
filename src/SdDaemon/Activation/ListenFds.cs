using SdDaemon.Environ;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// Socket activation: the descriptors the service manager (or systemd-socket-activate, or the fd
/// store) passed to this process, with their names, as
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html">sd_listen_fds_with_names(3)</see>
/// finds them.
/// </summary>
/// <remarks>
/// <para>The rules (spec L-1..L-8, L-10): descriptors start at fd 3; LISTEN_PID must be this process
/// (and LISTEN_PIDFDID, systemd 259, this process's pidfd inode where the kernel has pidfs; only a
/// kernel without pidfs skips that check, any other error reading the id is a failure);
/// LISTEN_FDS is their number; LISTEN_FDNAMES their <c>:</c>-separated names (a backslash escapes
/// the next character), <c>unknown</c> when absent. Descriptors from the fd store come after those
/// of socket units; an fd stored without FDNAME= is named <c>stored</c>, and an Accept=yes
/// connection <c>connection</c>.</para>
/// <para>Every passed descriptor is made close-on-exec, so child processes do not inherit it. A number
/// that holds no descriptor passed across exec is refused with EBADF, as libsystemd refuses one that is
/// not open: a LISTEN_FDS larger than what was passed never hands out the descriptors the .NET runtime
/// opened itself (all close-on-exec, which no inherited descriptor can be when the library first
/// examines it), nor a passed number closed since and reused (see <see cref="ListenFd"/>).</para>
/// </remarks>
public static class ListenFds
{
    /// <summary>SD_LISTEN_FDS_START: the first passed descriptor is fd 3 (spec L-1).</summary>
    public const int Start = 3;

    /// <summary>The name of a descriptor when LISTEN_FDNAMES is absent.</summary>
    public const string UnknownName = "unknown";

    /// <summary>The name the manager gives an fd-store entry that was stored without FDNAME=.</summary>
    public const string StoredName = "stored";

    /// <summary>The name the manager gives the connection socket of an Accept=yes socket unit.</summary>
    public const string ConnectionName = "connection";

    /// <summary>
    /// Finds the descriptors passed to this process (sd_listen_fds_with_names(3)).
    /// </summary>
    /// <param name="unsetEnvironment">Remove LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PIDFDID
    /// from the .NET process environment on every path (success or error), so that child processes
    /// started with <see cref="System.Diagnostics.Process"/> do not inherit them. On Unix .NET keeps
    /// a managed copy of the environment: native getenv() still sees them.</param>
    /// <returns>Not activated (an empty result), activated with the descriptors, or failed with the
    /// errno libsystemd gives: EINVAL for malformed text, a count of 0 or below, names that do not
    /// match the count or end in a lone backslash; ERANGE for a LISTEN_PID of 0, negative or too
    /// large; EBADF when a number from 3 to 3+LISTEN_FDS-1 holds no passed descriptor (not open, opened
    /// by this process itself, or closed since it was passed); the errno of a failed pidfd_open when
    /// LISTEN_PIDFDID cannot be verified for another reason than a kernel without pidfs. Never throws
    /// for the environment's content.</returns>
    /// <example>
    /// <code>
    /// using ListenFdsResult fds = ListenFds.Get(unsetEnvironment: true).ThrowIfFailed();
    /// Socket listener = fds.First("web")?.ToSocket() ?? BindMyself();
    /// </code>
    /// </example>
    public static ListenFdsResult Get(bool unsetEnvironment = false)
    {
        if (!OperatingSystem.IsLinux())
        {
            return ListenFdsResult.NotActivated;
        }

        return Get(ProcessEnvironmentSource.Instance, NativeActivationSystem.Instance, unsetEnvironment, Start);
    }

    /// <summary>The one worker (spec L-2..L-7); <paramref name="firstFd"/> is 3 except in tests.</summary>
    internal static ListenFdsResult Get(IEnvironmentSource environment, IActivationSystem system, bool unsetEnvironment, int firstFd)
    {
        try
        {
            return GetCore(environment, system, firstFd);
        }
        finally
        {
            // Spec L-6: on every exit path.
            if (unsetEnvironment)
            {
                environment.Remove(EnvironmentVariables.ListenPid);
                environment.Remove(EnvironmentVariables.ListenFds);
                environment.Remove(EnvironmentVariables.ListenFdNames);
                environment.Remove(EnvironmentVariables.ListenPidFdId);
            }
        }
    }

    private static ListenFdsResult GetCore(IEnvironmentSource environment, IActivationSystem system, int firstFd)
    {
        // Spec L-7: the names are parsed first, so their error wins over everything else.
        List<string>? names = null;
        string? namesText = environment.Get(EnvironmentVariables.ListenFdNames);
        if (namesText is not null)
        {
            names = SplitNames(namesText);
            if (names is null)
            {
                return ListenFdsResult.Failure(Errno.EINVAL, $"LISTEN_FDNAMES='{namesText}' ends in a lone backslash");
            }
        }

        // Spec L-2.
        string? pidText = environment.Get(EnvironmentVariables.ListenPid);
        if (pidText is null)
        {
            return ListenFdsResult.NotActivated;
        }

        int error = SystemdNumber.TryParsePid(pidText, out int pid);
        if (error != 0)
        {
            return ListenFdsResult.Failure(error, $"LISTEN_PID='{pidText}' is not a valid pid");
        }

        if (pid != system.ProcessId)
        {
            return ListenFdsResult.NotActivated; // meant for another process (a parent that did not unset it)
        }

        // Spec L-3 (systemd 259): the pid could have been reused; the pidfd inode id cannot.
        string? pidFdIdText = environment.Get(EnvironmentVariables.ListenPidFdId);
        if (pidFdIdText is not null)
        {
            error = SystemdNumber.TryParseUInt64(pidFdIdText, out ulong expected);
            if (error != 0)
            {
                return ListenFdsResult.Failure(error, $"LISTEN_PIDFDID='{pidFdIdText}' is not a number");
            }

            error = system.OwnPidFdInodeId(out ulong own);
            if (error == 0 && own != expected)
            {
                return ListenFdsResult.NotActivated;
            }

            // Only a kernel without pidfs (ENOSYS, EOPNOTSUPP and the other "not supported" answers,
            // which libsystemd caches as EOPNOTSUPP) may skip the check. Any other error (EMFILE,
            // ENOMEM, EPERM) means the id could not be verified now: accepting would hand this
            // process another one's descriptors, so it is a failure the caller sees.
            if (error != 0 && !Errno.IsNotSupported(error))
            {
                return ListenFdsResult.Failure(error, $"LISTEN_PIDFDID={expected} cannot be verified: this process's pidfd inode id is unreadable");
            }
        }

        // Spec L-4.
        string? countText = environment.Get(EnvironmentVariables.ListenFds);
        if (countText is null)
        {
            return ListenFdsResult.NotActivated;
        }

        error = SystemdNumber.TryParseInt32(countText, out int count);
        if (error != 0)
        {
            return ListenFdsResult.Failure(error, $"LISTEN_FDS='{countText}' is not a number");
        }

        if (count <= 0 || count > int.MaxValue - Start)
        {
            return ListenFdsResult.Failure(Errno.EINVAL, $"LISTEN_FDS={count} is out of range (1..{int.MaxValue - Start})");
        }

        // Spec L-5, L-10: close-on-exec for every passed fd; a number that holds no passed
        // descriptor (not open, opened by this process itself, or closed and reused) is EBADF.
        for (int i = 0; i < count; i++)
        {
            error = system.ClaimPassed(firstFd + i);
            if (error != 0)
            {
                return ListenFdsResult.Failure(error, error == Errno.EBADF
                    ? $"fd {firstFd + i} (of LISTEN_FDS={count}) holds no descriptor passed to this process: not open, opened by this process itself (close-on-exec), or closed and reused since"
                    : $"passed descriptor {firstFd + i} (of LISTEN_FDS={count}) is not usable");
            }
        }

        if (names is not null && names.Count != count)
        {
            return ListenFdsResult.Failure(Errno.EINVAL, $"LISTEN_FDNAMES has {names.Count} names for LISTEN_FDS={count}");
        }

        var files = new ListenFd[count];
        for (int i = 0; i < count; i++)
        {
            files[i] = new ListenFd(firstFd + i, names?[i] ?? UnknownName);
        }

        return new ListenFdsResult(files);
    }

    /// <summary>
    /// LISTEN_FDNAMES as systemd splits it (strv_split with EXTRACT_DONT_COALESCE_SEPARATORS):
    /// every <c>:</c> separates, so <c>a::b</c> is three names and the empty text one empty name; a
    /// backslash makes the next character literal; quotes are ordinary characters. Null for a
    /// trailing lone backslash (EINVAL).
    /// </summary>
    internal static List<string>? SplitNames(string text)
    {
        var names = new List<string>();
        var current = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 1 == text.Length)
                {
                    return null;
                }

                current.Append(text[++i]);
            }
            else if (c == ':')
            {
                names.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        names.Add(current.ToString());
        return names;
    }
}

/// <summary>What the activation worker needs from the operating system; faked in unit tests.</summary>
internal interface IActivationSystem
{
    int ProcessId { get; }

    /// <summary>Claims <paramref name="fd"/> as a descriptor passed to this process and makes it
    /// close-on-exec (spec L-5, L-10); 0 or the errno (EBADF for a number that holds none).</summary>
    int ClaimPassed(int fd);

    /// <summary>The inode id of a pidfd for this process; 0 or an errno (only "not supported" skips the check).</summary>
    int OwnPidFdInodeId(out ulong id);
}

internal sealed class NativeActivationSystem : IActivationSystem
{
    public static readonly NativeActivationSystem Instance = new();

    public int ProcessId => System.Environment.ProcessId;

    /// <summary>The process-wide claim of <see cref="ListenFd"/>: the first examination of a number decides.</summary>
    public int ClaimPassed(int fd) => ListenFd.ClaimPassed(fd);

    public int OwnPidFdInodeId(out ulong id) => Libc.OwnPidFdInodeId(out id);
}
