using System.Globalization;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// Who holds a PID file's lock. F_OFD_GETLK cannot say (it reports l_pid = -1), so the holder is
/// found through /proc: a process with a descriptor of the file whose fdinfo shows the lock (spec D-18).
/// </summary>
internal static class PidFileHolder
{
    /// <summary>
    /// Whether process <paramref name="pid"/> holds the daemon's lock on the file: one of its
    /// descriptors is the file, and /proc/PID/fdinfo/FD shows an OFD lock on that open file
    /// description, which its owner opened (<see cref="IsDaemonLock"/>). Null when we may not look.
    /// </summary>
    internal static bool? HoldsLock(int pid, FileIdentity identity)
    {
        string directory = string.Create(CultureInfo.InvariantCulture, $"/proc/{pid}");
        try
        {
            foreach (string link in Directory.EnumerateFileSystemEntries(directory + "/fd"))
            {
                if (Libc.TryStat(-1, link, out FileIdentity open, out _) && open.SameFile(identity)
                    && IsDaemonLock(File.ReadLines(directory + "/fdinfo/" + Path.GetFileName(link))))
                {
                    return true;
                }
            }

            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        catch (IOException)
        {
            return false; // the process (or that descriptor) is gone
        }
    }

    /// <summary>
    /// An fdinfo text of a description that holds an OFD lock (<c>lock: 1: OFDLCK ADVISORY READ|WRITE ...</c>)
    /// and that only the file's owner could have opened (spec D-18): writable (a 0644 file), or
    /// with O_NOATIME (<c>flags:</c>, octal), which open(2) refuses to anyone but the owner and
    /// CAP_FOWNER. A reader's shared lock is neither.
    /// </summary>
    internal static bool IsDaemonLock(IEnumerable<string> fdinfo)
    {
        bool ownersDescription = false;
        bool locked = false;
        foreach (string line in fdinfo)
        {
            if (line.StartsWith("flags:", StringComparison.Ordinal))
            {
                int flags = Convert.ToInt32(line["flags:".Length..].Trim(), 8);
                ownersDescription = (flags & Libc.O_ACCMODE) != Libc.O_RDONLY || (flags & Libc.O_NOATIME) != 0;
            }
            else if (line.StartsWith("lock:", StringComparison.Ordinal))
            {
                string[] words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                locked |= words.Contains("OFDLCK");
            }
        }

        return ownersDescription && locked;
    }
}
