using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// Process, file and credential calls for classic daemonization (daemon(7)): posix_spawn with
/// glibc's POSIX_SPAWN_SETSID, pid-file locking, privilege dropping, pidfds.
/// Linux/glibc values; the same on x86_64 and arm64.
/// </summary>
internal static unsafe partial class Libc
{
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_NOCTTY = 0x100;
    public const int O_APPEND = 0x400;
    public const int O_DIRECTORY = 0x10000;
    public const int O_NOFOLLOW = 0x20000;
    public const int O_PATH = 0x200000;

    public const int F_SETFL = 4;
    public const int F_OFD_GETLK = 36;
    public const int F_OFD_SETLK = 37;
    public const short F_RDLCK = 0;
    public const short F_WRLCK = 1;
    public const short F_UNLCK = 2;

    // glibc <spawn.h>. POSIX_SPAWN_SETSID is a GNU extension since glibc 2.26.
    public const short POSIX_SPAWN_SETSIGDEF = 0x04;
    public const short POSIX_SPAWN_SETSIGMASK = 0x08;
    public const short POSIX_SPAWN_SETSID = 0x80;

    public const int SIGHUP = 1;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;
    public const int WNOHANG = 1;

    /// <summary>open(2) O_NOATIME: only the file's owner (or CAP_FOWNER) may open with it, so it marks a description its owner opened.</summary>
    public const int O_NOATIME = 0x40000;

    /// <summary>fcntl(2) F_DUPFD_CLOEXEC: a probe for a free descriptor number (EMFILE when there is none).</summary>
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int PR_SET_CHILD_SUBREAPER = 36;

    /// <summary>PIPEFS_MAGIC: anonymous pipes (pipe2) live on pipefs, named FIFOs on their own filesystem.</summary>
    public const long PipeFsMagic = 0x50495045;

    // Generic syscall numbers: the same on x86_64 and arm64 for syscalls added after 5.0.
    public const long SYS_pidfd_send_signal = 424;

    /// <summary>Room for glibc's posix_spawn_file_actions_t (80 bytes) and posix_spawnattr_t (336), with margin.</summary>
    public const int SpawnStructBytes = 1024;

    /// <summary>struct flock (64-bit Linux).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
        private int _padding;
    }

    /// <summary>The start of glibc's struct passwd.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Passwd
    {
        public byte* Name;
        public byte* Password;
        public uint Uid;
        public uint Gid;
        public byte* Gecos;
        public byte* Dir;
        public byte* Shell;
    }

    /// <summary>glibc's struct group.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Group
    {
        public byte* Name;
        public byte* Password;
        public uint Gid;
        public byte** Members;
    }

    [LibraryImport(Lib, EntryPoint = "posix_spawn")]
    public static partial int PosixSpawn(int* pid, byte* path, void* fileActions, void* attributes, byte** argv, byte** envp);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_init")]
    public static partial int SpawnFileActionsInit(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_destroy")]
    public static partial int SpawnFileActionsDestroy(void* fileActions);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addopen")]
    public static partial int SpawnFileActionsAddOpen(void* fileActions, int fd, byte* path, int flags, uint mode);

    /// <summary>glibc 2.29+ (BZ #23640): dup2 onto the same number clears FD_CLOEXEC in the child only.</summary>
    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_adddup2")]
    public static partial int SpawnFileActionsAddDup2(void* fileActions, int fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "posix_spawn_file_actions_addclose")]
    public static partial int SpawnFileActionsAddClose(void* fileActions, int fd);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_init")]
    public static partial int SpawnAttrInit(void* attributes);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_destroy")]
    public static partial int SpawnAttrDestroy(void* attributes);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setflags")]
    public static partial int SpawnAttrSetFlags(void* attributes, short flags);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigdefault")]
    public static partial int SpawnAttrSetSigDefault(void* attributes, void* signals);

    [LibraryImport(Lib, EntryPoint = "posix_spawnattr_setsigmask")]
    public static partial int SpawnAttrSetSigMask(void* attributes, void* signals);

    [LibraryImport(Lib, EntryPoint = "sigfillset")]
    public static partial int SigFillSet(void* set);

    [LibraryImport(Lib, EntryPoint = "sigemptyset")]
    public static partial int SigEmptySet(void* set);

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte* path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "openat", SetLastError = true)]
    public static partial int OpenAt(int directoryFd, byte* path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "unlinkat", SetLastError = true)]
    public static partial int UnlinkAt(int directoryFd, byte* path, int flags);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "pwrite", SetLastError = true)]
    public static partial nint PWrite(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Lib, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, byte* buffer, nuint count, long offset);

    [LibraryImport(Lib, EntryPoint = "ftruncate", SetLastError = true)]
    public static partial int FTruncate(int fd, long length);

    [LibraryImport(Lib, EntryPoint = "fchmod", SetLastError = true)]
    public static partial int FChmod(int fd, uint mode);

    [LibraryImport(Lib, EntryPoint = "dup2", SetLastError = true)]
    public static partial int Dup2(int fd, int newFd);

    [LibraryImport(Lib, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlLock(int fd, int command, Flock* flock);

    [LibraryImport(Lib, EntryPoint = "umask")]
    public static partial uint Umask(uint mask);

    [LibraryImport(Lib, EntryPoint = "chdir", SetLastError = true)]
    public static partial int Chdir(byte* path);

    [LibraryImport(Lib, EntryPoint = "chroot", SetLastError = true)]
    public static partial int Chroot(byte* path);

    [LibraryImport(Lib, EntryPoint = "getpwnam", SetLastError = true)]
    public static partial Passwd* GetPwNam(byte* name);

    [LibraryImport(Lib, EntryPoint = "getgrnam", SetLastError = true)]
    public static partial Group* GetGrNam(byte* name);

    [LibraryImport(Lib, EntryPoint = "setgroups", SetLastError = true)]
    public static partial int SetGroups(nuint size, uint* groups);

    /// <summary>glibc applies it to every thread of the process (the setxid broadcast).</summary>
    [LibraryImport(Lib, EntryPoint = "setgid", SetLastError = true)]
    public static partial int SetGid(uint gid);

    /// <summary>glibc applies it to every thread of the process (the setxid broadcast).</summary>
    [LibraryImport(Lib, EntryPoint = "setuid", SetLastError = true)]
    public static partial int SetUid(uint uid);

    [LibraryImport(Lib, EntryPoint = "setegid", SetLastError = true)]
    public static partial int SetEGid(uint gid);

    [LibraryImport(Lib, EntryPoint = "seteuid", SetLastError = true)]
    public static partial int SetEUid(uint uid);

    [LibraryImport(Lib, EntryPoint = "getsid", SetLastError = true)]
    public static partial int GetSid(int pid);

    [LibraryImport(Lib, EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);

    [LibraryImport(Lib, EntryPoint = "waitpid", SetLastError = true)]
    public static partial int WaitPid(int pid, int* status, int options);

    [LibraryImport(Lib, EntryPoint = "prctl", SetLastError = true)]
    public static partial int Prctl(int option, nuint argument2, nuint argument3, nuint argument4, nuint argument5);

    [LibraryImport(Lib, EntryPoint = "unsetenv", SetLastError = true)]
    public static partial int UnsetEnv(byte* name);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall4(long number, long argument1, long argument2, long argument3, long argument4);

    /// <summary>pidfd_send_signal(2) (Linux 5.1): a signal that cannot reach a recycled pid.</summary>
    public static int PidFdSendSignal(int pidFd, int signal) => (int)Syscall4(SYS_pidfd_send_signal, pidFd, signal, 0, 0);

    /// <summary>Null-terminated UTF-8 of <paramref name="text"/>.</summary>
    public static byte[] Utf8Z(string text)
    {
        int length = System.Text.Encoding.UTF8.GetByteCount(text);
        var bytes = new byte[length + 1];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>(dev major, dev minor, inode, mode) of an open descriptor or a path; false with errno on failure.</summary>
    public static bool TryStat(int fd, string? path, out FileIdentity identity, out int errno)
    {
        errno = path is null ? FStatx(fd, STATX_BASIC_STATS, out Statx buffer) : PathStatx(path, STATX_BASIC_STATS, out buffer);
        identity = errno == 0 ? buffer.Identity : default;
        return errno == 0;
    }

    /// <summary>getgrouplist(3): what initgroups would set, computed while /etc/group is still reachable (before chroot).</summary>
    [LibraryImport(Lib, EntryPoint = "getgrouplist", SetLastError = true)]
    public static partial int GetGroupList(byte* user, uint group, uint* groups, int* count);

    [LibraryImport(Lib, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    /// <summary>Writes all of <paramref name="data"/> (a file, a memfd, a pipe that blocks), riding out
    /// EINTR: 0, or the errno (EIO if the descriptor took nothing).</summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data)
    {
        fixed (byte* start = data)
        {
            for (int done = 0; done < data.Length;)
            {
                nint n = Write(fd, start + done, (nuint)(data.Length - done));
                if (n <= 0 && !(n < 0 && LastErrno == Errno.EINTR))
                {
                    return n < 0 ? LastErrno : Errno.EIO;
                }

                done += (int)Math.Max(n, 0);
            }
        }

        return 0;
    }

    [LibraryImport(Lib, EntryPoint = "renameat", SetLastError = true)]
    public static partial int RenameAt(int oldDirectoryFd, byte* oldPath, int newDirectoryFd, byte* newPath);

    /// <summary>glibc 2.34+: close every descriptor from <paramref name="from"/> up in the child (close_range), also those above RLIMIT_NOFILE.</summary>
    /// <remarks>Bound at the first call, from <c>libc.so.6</c> rather than <see cref="Lib"/>: under NativeAOT the
    /// package binds "libc" at link time (buildTransitive/SdDaemon.targets), which would make an app that
    /// daemonizes fail to link against an older glibc instead of falling back (EntryPointNotFoundException).</remarks>
    [LibraryImport(LazyLib, EntryPoint = "posix_spawn_file_actions_addclosefrom_np")]
    public static partial int SpawnFileActionsAddCloseFrom(void* fileActions, int from);
}
