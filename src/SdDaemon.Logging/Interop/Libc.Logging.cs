using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>The libc calls only the logging package needs: memfd_create(2), isatty(3) and the sealing constants (statx is in the shared Libc.Stat.cs).</summary>
internal static unsafe partial class Libc
{
    public const uint MFD_CLOEXEC = 0x1;
    public const uint MFD_ALLOW_SEALING = 0x2;

    public const int F_ADD_SEALS = 1033;
    public const int F_GET_SEALS = 1034;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;

    /// <summary>poll(2): the descriptor is not open.</summary>
    public const short POLLNVAL = 0x020;

    /// <summary>isatty(3): 1 for a terminal (the stderr sink reopens those non-blocking), else 0.</summary>
    [LibraryImport(Lib, EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport(Lib, EntryPoint = "memfd_create", SetLastError = true)]
    public static partial int MemfdCreate(byte* name, uint flags);
}
