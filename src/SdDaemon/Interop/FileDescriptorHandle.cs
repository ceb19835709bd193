using System.Runtime.InteropServices;

namespace SdDaemon.Interop;

/// <summary>
/// Owns one raw file descriptor. Unlike SafeFileHandle (which treats 0 as invalid), every fd
/// from 0 on is valid here: a daemon whose stdin was closed gets fd 0 from socket().
/// </summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle(int fd, bool ownsHandle = true)
        : base(new IntPtr(-1), ownsHandle)
    {
        SetHandle(new IntPtr(fd));
    }

    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>The fd number; only meaningful while a reference is held.</summary>
    public int Fd => (int)handle.ToInt64();

    protected override bool ReleaseHandle() => Libc.Close((int)handle.ToInt64()) == 0;
}
