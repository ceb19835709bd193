using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// File status for socket activation, the sd_is_* checks and sd_booted: statx(2) (one layout on
/// every architecture, unlike struct stat), faccessat(2), mq_getattr(3) and pidfd_open(2).
/// </summary>
internal static unsafe partial class Libc
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const int AT_EMPTY_PATH = 0x1000;
    public const int F_OK = 0;
    public const int F_GETFL = 3;
    public const int O_ACCMODE = 3;
    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;

    public const uint STATX_TYPE = 0x1;
    public const uint STATX_INO = 0x100;
    public const uint STATX_BASIC_STATS = 0x7ff;

    public const int S_IFMT = 0xF000;
    public const int S_IFSOCK = 0xC000;
    public const int S_IFLNK = 0xA000;
    public const int S_IFREG = 0x8000;
    public const int S_IFBLK = 0x6000;
    public const int S_IFDIR = 0x4000;
    public const int S_IFCHR = 0x2000;
    public const int S_IFIFO = 0x1000;

    /// <summary>PID_FS_MAGIC: pidfds live on pidfs (Linux 6.9+); only there is the inode a stable id.</summary>
    public const long PidFsMagic = 0x50494446;

    private const long SysPidFdOpenNumber = 434; // the same on every architecture (asm-generic unified numbers)

    /// <summary>struct statx (linux/stat.h): 256 bytes, the same on every architecture.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    public struct Statx
    {
        [FieldOffset(0)] public uint Mask;
        [FieldOffset(16)] public uint NLink;
        [FieldOffset(20)] public uint Uid;
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Ino;
        [FieldOffset(128)] public uint RDevMajor;
        [FieldOffset(132)] public uint RDevMinor;
        [FieldOffset(136)] public uint DevMajor;
        [FieldOffset(140)] public uint DevMinor;

        public readonly int FileType => Mode & S_IFMT;

        public readonly FileIdentity Identity => new(DevMajor, DevMinor, Ino, Mode);
    }

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatxPath(int dirFd, string path, int flags, uint mask, out Statx result);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true)]
    public static partial int StatxRaw(int dirFd, byte* path, int flags, uint mask, out Statx result);

    [LibraryImport(Lib, EntryPoint = "faccessat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int FAccessAt(int dirFd, string path, int mode, int flags);

    [LibraryImport(Lib, EntryPoint = "mq_getattr", SetLastError = true)]
    public static partial int MqGetAttr(int fd, void* attributes);

    [LibraryImport(Lib, EntryPoint = "fstatfs", SetLastError = true)]
    public static partial int FStatFs(int fd, void* buffer);

    [LibraryImport(Lib, EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall2(long number, long argument1, long argument2);

    [LibraryImport(Lib, EntryPoint = "getpid")]
    public static partial int GetPid();

    /// <summary>fstat(2) of an fd through statx with AT_EMPTY_PATH; 0 or the errno.</summary>
    public static int FStatx(int fd, uint mask, out Statx result)
    {
        byte empty = 0;
        return StatxRaw(fd, &empty, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, out result) == 0 ? 0 : LastErrno;
    }

    /// <summary>stat(2) of a path (following symlinks) through statx; 0 or the errno.</summary>
    public static int PathStatx(string path, uint mask, out Statx result) =>
        StatxPath(AT_FDCWD, path, 0, mask, out result) == 0 ? 0 : LastErrno;

    /// <summary>pidfd_open(2) through syscall(2): glibc 2.36 has a wrapper, older ones do not.</summary>
    public static int PidFdOpen(int pid, int flags) => (int)Syscall2(SysPidFdOpenNumber, pid, flags);

    /// <summary>
    /// The inode id of a pidfd for this process (what systemd 259 puts in LISTEN_PIDFDID), or an
    /// errno (see <see cref="PidFdInodeId"/>).
    /// </summary>
    public static int OwnPidFdInodeId(out ulong id)
    {
        id = 0;
        int fd = PidFdOpen(GetPid(), 0);
        if (fd < 0)
        {
            return LastErrno;
        }

        try
        {
            return PidFdInodeId(fd, out id);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>
    /// The inode id of a pidfd (what systemd 257 takes in MAINPIDFDID=, 259 gives in LISTEN_PIDFDID),
    /// or an errno: EOPNOTSUPP when the kernel does not put pidfds on pidfs (before Linux 6.9, where
    /// the inode is a shared anonymous one and identifies nothing).
    /// </summary>
    public static int PidFdInodeId(int pidFd, out ulong id)
    {
        id = 0;
        // struct statfs starts with f_type (a long on every 64-bit architecture); 120 bytes
        // on x86-64 and arm64, a generous buffer covers the others.
        long* statfs = stackalloc long[32];
        if (FStatFs(pidFd, statfs) != 0)
        {
            return LastErrno;
        }

        if (IntPtr.Size != 8 || statfs[0] != PidFsMagic)
        {
            return Errno.EOPNOTSUPP;
        }

        int error = FStatx(pidFd, STATX_INO, out Statx st);
        if (error != 0)
        {
            return error;
        }

        id = st.Ino;
        return 0;
    }
}
