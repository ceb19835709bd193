namespace SdDaemon.Interop;

/// <summary>
/// Which file a descriptor or a path is (statx's device and inode), plus its mode bits: the one
/// identity for "the same file" checks (stat_inode_same in systemd), whatever asks (a moved stderr,
/// a re-bound socket path, a pid file, a passed descriptor).
/// </summary>
internal readonly record struct FileIdentity(uint DeviceMajor, uint DeviceMinor, ulong Inode, ushort Mode)
{
    /// <summary>The S_IF* type bits of <see cref="Mode"/>.</summary>
    public int FileType => Mode & Libc.S_IFMT;

    /// <summary>st_dev as glibc's makedev(3) encodes it (what JOURNAL_STREAM carries).</summary>
    public ulong Device =>
        ((ulong)(DeviceMajor & 0x00000fffu) << 8)
        | ((ulong)(DeviceMajor & 0xfffff000u) << 32)
        | (DeviceMinor & 0x000000ffu)
        | ((ulong)(DeviceMinor & 0xffffff00u) << 12);

    /// <summary>The same device and inode (the mode may have changed meanwhile).</summary>
    public bool SameFile(FileIdentity other) =>
        DeviceMajor == other.DeviceMajor && DeviceMinor == other.DeviceMinor && Inode == other.Inode;
}
