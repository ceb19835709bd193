using System.Runtime.InteropServices;

namespace SdDaemon.Tests.Support;

internal static class Fds
{
    /// <summary>What /proc/self/fd/N points to: "pipe:[inode]", "socket:[inode]" or a path: an fd's identity.</summary>
    public static string Identity(SafeHandle handle) =>
        new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget ?? "";

    /// <summary>A pipe; both ends CLOEXEC.</summary>
    public static unsafe (Microsoft.Win32.SafeHandles.SafeFileHandle Read, Microsoft.Win32.SafeHandles.SafeFileHandle Write) Pipe()
    {
        int* fds = stackalloc int[2];
        if (SdDaemon.Interop.Libc.Pipe2(fds, 0x80000) != 0)
        {
            throw new IOException("pipe2 failed");
        }

        return (new(fds[0], ownsHandle: true), new(fds[1], ownsHandle: true));
    }
}
