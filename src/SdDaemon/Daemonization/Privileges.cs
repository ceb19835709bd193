using System.Runtime.InteropServices;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// daemon(7) step 13: the target user's ids, resolved while the user database is reachable (before
/// chroot), then setgroups, setgid, setuid in that order. Any failure is fatal, and so is a
/// setuid(0) that still succeeds afterwards (root could be regained).
/// </summary>
internal sealed unsafe class Privileges
{
    private Privileges(string? user, uint uid, uint gid, uint[] groups)
    {
        User = user;
        Uid = uid;
        Gid = gid;
        Groups = groups;
    }

    public string? User { get; }

    public uint Uid { get; }

    public uint Gid { get; }

    public uint[] Groups { get; }

    /// <summary>Null when neither a user nor a group is asked for.</summary>
    /// <exception cref="ArgumentException">An unknown user or group.</exception>
    public static Privileges? Resolve(string? user, string? group)
    {
        if (user is null && group is null)
        {
            return null;
        }

        uint uid = Libc.GetUid();
        uint gid = Libc.GetGid();
        if (user is not null)
        {
            Libc.Passwd* entry;
            fixed (byte* name = Libc.Utf8Z(user))
            {
                entry = Libc.GetPwNam(name);
            }

            if (entry is null)
            {
                throw new ArgumentException($"unknown user '{user}'");
            }

            uid = entry->Uid;
            gid = entry->Gid;
        }

        if (group is not null)
        {
            Libc.Group* entry;
            fixed (byte* name = Libc.Utf8Z(group))
            {
                entry = Libc.GetGrNam(name);
            }

            if (entry is null)
            {
                throw new ArgumentException($"unknown group '{group}'");
            }

            gid = entry->Gid;
        }

        uint[] groups = [gid];
        if (user is not null)
        {
            int count = 64;
            while (true)
            {
                var buffer = new uint[count];
                int result;
                fixed (byte* name = Libc.Utf8Z(user))
                fixed (uint* g = buffer)
                {
                    result = Libc.GetGroupList(name, gid, g, &count);
                }

                if (result >= 0)
                {
                    groups = buffer[..count];
                    break;
                }

                count = Math.Max(count, buffer.Length * 2);
            }
        }

        return new Privileges(user, uid, gid, groups);
    }

    /// <summary>Drops to these ids for good.</summary>
    /// <exception cref="UnauthorizedAccessException">A step failed, or root could be regained.</exception>
    public void Drop()
    {
        fixed (uint* g = Groups)
        {
            if (Libc.SetGroups((nuint)Groups.Length, g) != 0)
            {
                throw Fail("setgroups");
            }
        }

        if (Libc.SetGid(Gid) != 0)
        {
            throw Fail($"setgid({Gid})");
        }

        if (User is not null && Libc.SetUid(Uid) != 0)
        {
            throw Fail($"setuid({Uid})");
        }

        if (Libc.GetGid() != Gid || Libc.GetEGid() != Gid || (User is not null && (Libc.GetUid() != Uid || Libc.GetEUid() != Uid)))
        {
            throw new UnauthorizedAccessException("the ids did not change as asked; refusing to run");
        }

        if (User is not null && Uid != 0)
        {
            if (Libc.SetUid(0) == 0 || Libc.SetEUid(0) == 0)
            {
                throw new UnauthorizedAccessException("root can be regained after the privilege drop; refusing to run");
            }

            if (Gid != 0 && (Libc.SetGid(0) == 0 || Libc.SetEGid(0) == 0))
            {
                throw new UnauthorizedAccessException("group root can be regained after the privilege drop; refusing to run");
            }
        }

        // The notify sender decides from ids it read once whether to attach explicit credentials (N-10).
        NotifyChannel.RefreshCredentials();
    }

    private static UnauthorizedAccessException Fail(string what)
    {
        int errno = Libc.LastErrno;
        return new UnauthorizedAccessException($"{Errno.Describe($"{what} failed", errno)}; refusing to run");
    }
}
