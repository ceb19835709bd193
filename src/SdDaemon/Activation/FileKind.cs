namespace SdDaemon;

/// <summary>What kind of file a descriptor refers to (its <c>S_IFMT</c> type, and message queues).</summary>
public enum FileKind
{
    /// <summary>The descriptor could not be examined (not open).</summary>
    Unknown = 0,

    /// <summary>A socket (S_IFSOCK); see <see cref="ListenFd.SocketFamily"/> and <see cref="ListenFd.SocketType"/>.</summary>
    Socket,

    /// <summary>A FIFO (S_IFIFO): ListenFIFO=, or a pipe.</summary>
    Fifo,

    /// <summary>A regular file (S_IFREG): ListenSpecial=, or a file from the fd store.</summary>
    RegularFile,

    /// <summary>A character device (S_IFCHR): ListenSpecial= on /dev/..., /proc or /sys files.</summary>
    CharacterDevice,

    /// <summary>A block device (S_IFBLK).</summary>
    BlockDevice,

    /// <summary>A directory (S_IFDIR), for example one opened with O_PATH and stored.</summary>
    Directory,

    /// <summary>A POSIX message queue (ListenMessageQueue=).</summary>
    MessageQueue,

    /// <summary>Anything else: an anonymous inode (eventfd, pidfd, memfd on some kernels, timerfd...).</summary>
    Other,
}
