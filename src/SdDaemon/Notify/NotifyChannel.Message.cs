using System.Runtime.InteropServices;
using SdDaemon.Interop;

namespace SdDaemon;

// One notify message on the wire (spec N-6, N-10, N-11), on any transport: the payload, the
// descriptors, and this process's credentials where the kernel's own would not do.
public sealed partial class NotifyChannel
{
    /// <summary>
    /// Writes one notify message (spec N-6, N-10, N-11): the payload, SCM_RIGHTS before
    /// SCM_CREDENTIALS, explicit credentials only when needed and dropped on failure. A full queue
    /// is waited for up to SendTimeout, or not at all without <paramref name="waitForRoom"/> (EAGAIN).
    /// Returns 0 or the errno.
    /// </summary>
    private unsafe int Transmit(int fd, Notification notification, bool isStream, bool waitForRoom)
    {
        IReadOnlyList<SafeHandle> files = notification.Files;
        int pid = notification.Pid ?? 0;
        bool sendCredentials = (pid != 0 && pid != System.Environment.ProcessId) || IdsDiffer();
        int rightsSpace = SocketMessage.RightsSpace(files.Count);
        int credentialsSpace = sendCredentials ? SocketMessage.CredentialsSpace : 0;
        byte* control = stackalloc byte[rightsSpace + credentialsSpace];
        new Span<byte>(control, rightsSpace + credentialsSpace).Clear();
        int referenced = 0;
        try
        {
            if (files.Count > 0)
            {
                var fds = new Span<int>(SocketMessage.AddControl(control, Libc.SCM_RIGHTS, sizeof(int) * files.Count), files.Count);
                referenced = HandleReference.AddAll(files, fds);
                if (referenced < files.Count)
                {
                    throw new ArgumentException($"Files[{referenced}] is closed; nothing was sent.", nameof(notification));
                }
            }

            if (sendCredentials)
            {
                *(Libc.UCred*)SocketMessage.AddControl(control + rightsSpace, Libc.SCM_CREDENTIALS, sizeof(Libc.UCred)) = new Libc.UCred
                {
                    Pid = pid != 0 ? pid : System.Environment.ProcessId,
                    Uid = Libc.GetUid(),
                    Gid = Libc.GetGid(),
                };
            }

            return SocketMessage.Send(fd, notification.Payload, control, rightsSpace + credentialsSpace, credentialsSpace, isStream, waitForRoom ? _sendTimeout : TimeSpan.Zero);
        }
        finally
        {
            HandleReference.ReleaseAll(files, referenced);
        }
    }

    /// <summary>
    /// Re-reads this process's real and effective user and group ids. Sends attach explicit
    /// credentials when they differ (spec N-10); that is decided from ids read once, at the first
    /// send, because the four syscalls would otherwise cost about a quarter of a send. Call this
    /// after changing the ids yourself (setuid, seteuid, setgid...) in a running daemon; SdDaemon's
    /// own privilege drop calls it.
    /// </summary>
    public static void RefreshCredentials() => Volatile.Write(ref s_idsDiffer, ReadIdsDiffer());

    private static int s_idsDiffer = -1; // -1 not read yet, 0 equal, 1 differ

    private static bool IdsDiffer()
    {
        int value = Volatile.Read(ref s_idsDiffer);
        if (value < 0)
        {
            value = ReadIdsDiffer();
            Volatile.Write(ref s_idsDiffer, value);
        }

        return value == 1;
    }

    private static int ReadIdsDiffer() =>
        Libc.GetUid() != Libc.GetEUid() || Libc.GetGid() != Libc.GetEGid() ? 1 : 0;
}
