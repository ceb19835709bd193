using System.Runtime.InteropServices;

namespace SdDaemon.DBus;

/// <summary>
/// An inhibitor lock: the file descriptor logind returned from Inhibit. The lock is held while the
/// descriptor is open anywhere; disposing this handle closes it and so releases the lock (unless a
/// child process inherited it: the descriptor is CLOEXEC, as every descriptor Tmds.DBus.Protocol receives).
/// </summary>
public sealed partial class InhibitorLock : SafeHandle
{
    /// <summary>For Tmds.DBus.Protocol's reader, which fills in the received descriptor; use <see cref="LoginManager.InhibitAsync"/>.</summary>
    public InhibitorLock()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>What the lock inhibits.</summary>
    public InhibitWhat What { get; internal set; }

    /// <summary>Block or delay.</summary>
    public InhibitMode Mode { get; internal set; }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Close((int)handle.ToInt64()) == 0;

    // close(2) alone: SdDaemon's Libc is internal to its assembly.
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
