using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// One descriptor passed by socket activation or the fd store (see
/// <see href="https://www.freedesktop.org/software/systemd/man/sd_listen_fds.html">sd_listen_fds_with_names(3)</see>):
/// its number, its name, what it is, and conversions to the .NET types that use it.
/// </summary>
/// <remarks>
/// <para>Ownership is explicit. Until it is taken, the descriptor belongs to this object and
/// <see cref="Dispose"/> closes it. <see cref="TakeHandle"/>, <see cref="ToSocket"/> and
/// <see cref="ToStream"/> each hand ownership to what they return; a second take throws
/// <see cref="InvalidOperationException"/> instead of producing two owners that would close the
/// same number twice.</para>
/// <para>Ownership is per descriptor number and process-wide: <see cref="ListenFds.Get(bool)"/> called
/// twice (without <c>unsetEnvironment</c>) returns objects for the same numbers that share one ownership
/// state, so a descriptor taken through one result shows <see cref="IsTaken"/> in the other, cannot be
/// taken again, and is closed by neither result's Dispose; disposing one result closes the untaken
/// descriptors for both.</para>
/// <para>Which numbers hold passed descriptors is decided the first time the library examines a number,
/// once per process (spec L-10): a descriptor inherited across exec cannot have FD_CLOEXEC set, and every
/// descriptor the .NET runtime opens before <c>Main</c> has it, so a number found close-on-exec was not
/// passed and <see cref="ListenFds.Get(bool)"/> refuses it with EBADF, as libsystemd in a C program would
/// (those numbers were not open at exec). A passed number that was closed since (by <see cref="Dispose"/>
/// or by its taker) stays refused, even once the number is reused for another file.</para>
/// <para>What the descriptor is (<see cref="Kind"/>, the socket properties) is examined once, when the
/// object is made, with statx(2) and getsockopt(2), while the descriptor is still the passed one.</para>
/// </remarks>
public sealed class ListenFd : IDisposable
{
    private const int Owned = 0;
    private const int Taken = 1;
    private const int Closed = 2;

    /// <summary>Every number claimed as passed (spec L-10) with its ownership, process-wide; never forgotten,
    /// so that a number closed since is not taken for a passed one when it is reused.</summary>
    private static readonly Dictionary<int, Ownership> s_owners = [];

    private readonly Ownership _owner;

    internal ListenFd(int fd, string name)
    {
        Fd = fd;
        Name = name;
        _owner = OwnershipFor(fd);
    }

    /// <summary>The descriptor number (3 for the first). Stays readable after the descriptor is taken.</summary>
    public int Fd { get; }

    /// <summary>The name from LISTEN_FDNAMES (FileDescriptorName=, FDNAME=, <c>stored</c>,
    /// <c>connection</c>), or <c>unknown</c> when the manager gave no names.</summary>
    public string Name { get; }

    /// <summary>True once the descriptor was handed over (<see cref="TakeHandle"/>, <see cref="ToSocket"/>, <see cref="ToStream"/>).</summary>
    public bool IsTaken => Volatile.Read(ref _owner.State) == Taken;

    /// <summary>
    /// True when this and <paramref name="other"/> are two numbers for the same open file or socket (the
    /// same device and inode when they were examined), as when a socket unit and the fd store both pass
    /// one listener. False when either could not be examined.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="other"/> is null.</exception>
    public bool IsSameFile(ListenFd other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return GetInfo().Identity is { } mine && other.GetInfo().Identity is { } theirs && mine.SameFile(theirs);
    }

    /// <summary>What the descriptor referred to when this object was made; <see cref="FileKind.Unknown"/> if it could not be examined.</summary>
    public FileKind Kind => GetInfo().Kind;

    /// <summary>For a socket: its Linux address family (AF_INET=2, AF_INET6=10, AF_UNIX=1, AF_NETLINK=16,
    /// AF_VSOCK=40...); 0 otherwise.</summary>
    public int SocketDomain => GetInfo().Domain;

    /// <summary>For a socket: its family as .NET names it (<see cref="AddressFamily.InterNetwork"/>,
    /// <see cref="AddressFamily.InterNetworkV6"/>, <see cref="AddressFamily.Unix"/>), or
    /// <see cref="AddressFamily.Unknown"/> for families .NET does not model (see <see cref="SocketDomain"/>)
    /// and for non-sockets.</summary>
    public AddressFamily SocketFamily => GetInfo().Domain switch
    {
        Libc.AF_UNIX => AddressFamily.Unix,
        Libc.AF_INET => AddressFamily.InterNetwork,
        Libc.AF_INET6 => AddressFamily.InterNetworkV6,
        _ => AddressFamily.Unknown,
    };

    /// <summary>For a socket: stream, datagram, seqpacket or raw; <see cref="System.Net.Sockets.SocketType.Unknown"/> otherwise.</summary>
    public SocketType SocketType => GetInfo().Type switch
    {
        Libc.SOCK_STREAM => SocketType.Stream,
        Libc.SOCK_DGRAM => SocketType.Dgram,
        Libc.SOCK_RAW => SocketType.Raw,
        4 => SocketType.Rdm,
        Libc.SOCK_SEQPACKET => SocketType.Seqpacket,
        _ => SocketType.Unknown,
    };

    /// <summary>For a socket: whether it is listening (SO_ACCEPTCONN): ListenStream= and ListenSequentialPacket=
    /// sockets are, datagram sockets and Accept=yes connections are not.</summary>
    public bool IsListening => GetInfo().Listening;

    /// <summary>
    /// Hands the descriptor over as a <see cref="SafeFileHandle"/> that owns it (closing the handle
    /// closes the descriptor). Use it for FIFOs, files, devices, message queues, or to pass the
    /// descriptor on (for example back to the fd store with <see cref="Notification.Files"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Already taken, or closed by <see cref="Dispose"/>.</exception>
    public SafeFileHandle TakeHandle()
    {
        Take();
        return new SafeFileHandle(new IntPtr(Fd), ownsHandle: true);
    }

    /// <summary>
    /// Hands the descriptor over as a <see cref="Socket"/> (through the public
    /// <see cref="Socket(SafeSocketHandle)"/> constructor): a listening TCP socket to Accept on, a UDP
    /// or Unix datagram socket to receive from, an Accept=yes connection. Families .NET does not model
    /// (netlink, vsock...) come back with <see cref="Socket.AddressFamily"/> Unknown rather than an exception.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not a socket, already taken, or closed.</exception>
    public Socket ToSocket()
    {
        if (Kind != FileKind.Socket)
        {
            throw new InvalidOperationException($"fd {Fd} '{Name}' is a {Kind}, not a socket.");
        }

        Take();
        var handle = new SafeSocketHandle(new IntPtr(Fd), ownsHandle: true);
        try
        {
            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Hands the descriptor over as a <see cref="Stream"/>: a <see cref="NetworkStream"/> (owning its
    /// socket) for a connected stream socket such as an Accept=yes connection; a <see cref="FileStream"/>
    /// for a FIFO, regular file or character device, readable and writable as the descriptor was opened.
    /// A FIFO or device opened with O_NONBLOCK (systemd opens ListenFIFO= and ListenSpecial= so) is
    /// switched to blocking mode first (fcntl F_SETFL), so that a read waits for data instead of failing
    /// with EAGAIN; this changes the open file description shared with the manager.
    /// </summary>
    /// <exception cref="InvalidOperationException">A listening or datagram socket, another kind, already taken, or closed.</exception>
    public Stream ToStream()
    {
        switch (Kind)
        {
            case FileKind.Socket when !IsListening && GetInfo().Type == Libc.SOCK_STREAM:
                return new NetworkStream(ToSocket(), ownsSocket: true);
            case FileKind.Fifo or FileKind.RegularFile or FileKind.CharacterDevice:
                SafeFileHandle handle = TakeHandle();
                try
                {
                    int flags = Libc.Fcntl(Fd, Libc.F_GETFL, 0);
                    if (flags < 0)
                    {
                        throw new IOException(Errno.Describe($"fcntl(F_GETFL) on fd {Fd} '{Name}' failed", Libc.LastErrno));
                    }

                    // systemd opens ListenFIFO= and ListenSpecial= with O_NONBLOCK; FileStream does
                    // blocking reads and writes and would fail with EAGAIN. O_NONBLOCK belongs to the
                    // open file description, which the manager shares with us: clearing it also
                    // changes it for every other holder of that description. That is acceptable
                    // for a descriptor passed to this service to use, and needed for a Stream.
                    if ((flags & Libc.O_NONBLOCK) != 0 && Libc.Fcntl(Fd, Libc.F_SETFL, flags & ~Libc.O_NONBLOCK) < 0)
                    {
                        throw new IOException(Errno.Describe($"fcntl(F_SETFL) clearing O_NONBLOCK on fd {Fd} '{Name}' failed", Libc.LastErrno));
                    }

                    FileAccess access = (flags & Libc.O_ACCMODE) switch
                    {
                        Libc.O_RDONLY => FileAccess.Read,
                        Libc.O_WRONLY => FileAccess.Write,
                        _ => FileAccess.ReadWrite,
                    };
                    return new FileStream(handle, access, bufferSize: 0);
                }
                catch
                {
                    handle.Dispose();
                    throw;
                }

            default:
                throw new InvalidOperationException(
                    $"fd {Fd} '{Name}' ({Describe()}) has no stream form; use ToSocket() or TakeHandle().");
        }
    }

    /// <summary>Closes the descriptor unless it was taken; does nothing the second time.</summary>
    public void Dispose()
    {
        lock (s_owners)
        {
            if (_owner.State == Owned)
            {
                // The number stays known as closed (spec L-10): whatever reuses it was not passed.
                Volatile.Write(ref _owner.State, Closed);
                _ = Libc.Close(Fd);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"fd {Fd} '{Name}'";

    private void Take()
    {
        int previous;
        lock (s_owners)
        {
            previous = _owner.State;
            if (previous == Owned)
            {
                Volatile.Write(ref _owner.State, Taken);
            }
        }

        if (previous != Owned)
        {
            throw new InvalidOperationException(previous == Taken
                ? $"fd {Fd} '{Name}' was already taken; it has one owner, which closes it."
                : $"fd {Fd} '{Name}' was closed by Dispose().");
        }
    }

    private string Describe() => Kind == FileKind.Socket
        ? $"{(IsListening ? "listening " : "")}{SocketType} socket of family {SocketDomain}"
        : Kind.ToString();

    private Info GetInfo() => _owner.Info;

    /// <summary>
    /// Claims <paramref name="fd"/> as a descriptor passed to this process (spec L-5, L-10): 0, or the
    /// errno. The first time a number is examined decides, once per process: found close-on-exec, it
    /// was opened by this process (a descriptor inherited across exec cannot have FD_CLOEXEC; the
    /// runtime opens all of its own with it) and is refused with EBADF; otherwise it is recorded as
    /// passed, with the file it refers to, and made close-on-exec (the library's own rule for every
    /// descriptor it holds, and the reason the examination must come first). Later claims accept it
    /// while it is still that file and was not closed through a <see cref="ListenFd"/> or its taker.
    /// </summary>
    internal static int ClaimPassed(int fd)
    {
        lock (s_owners)
        {
            int flags = Libc.Fcntl(fd, Libc.F_GETFD, 0);
            if (flags < 0)
            {
                return Libc.LastErrno; // not open: EBADF
            }

            Info info = Examine(fd);
            if (s_owners.TryGetValue(fd, out Ownership? known))
            {
                return known.State != Closed && info.Identity is { } identity && known.Info.Identity == identity
                    ? 0
                    : Errno.EBADF; // closed since (by us or its taker) and the number reused
            }

            if ((flags & Libc.FD_CLOEXEC) != 0)
            {
                return Errno.EBADF; // not inherited across exec: the runtime's own (or the program's)
            }

            if (Libc.Fcntl(fd, Libc.F_SETFD, flags | Libc.FD_CLOEXEC) < 0)
            {
                return Libc.LastErrno;
            }

            s_owners[fd] = new Ownership(info);
            return 0;
        }
    }

    /// <summary>
    /// The shared ownership of <paramref name="fd"/>: the one recorded by <see cref="ClaimPassed"/>
    /// while the number still refers to that file and was not closed; an unshared one otherwise (a
    /// ListenFd made without a claim, as unit tests with a fake system do).
    /// </summary>
    private static Ownership OwnershipFor(int fd)
    {
        lock (s_owners)
        {
            Info info = Examine(fd);
            if (s_owners.TryGetValue(fd, out Ownership? existing)
                && existing.State != Closed
                && info.Identity is { } identity
                && existing.Info.Identity is { } known
                && known.SameFile(identity))
            {
                return existing;
            }

            return new Ownership(info);
        }
    }

    internal static unsafe Info Examine(int fd)
    {
        if (Libc.FStatx(fd, Libc.STATX_TYPE | Libc.STATX_INO, out Libc.Statx st) != 0)
        {
            return new Info(FileKind.Unknown, 0, 0, false);
        }

        return ExamineKind(fd, st) with { Identity = st.Identity };
    }

    private static unsafe Info ExamineKind(int fd, in Libc.Statx st)
    {
        switch (st.FileType)
        {
            case Libc.S_IFSOCK:
                _ = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_DOMAIN, out int domain);
                _ = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_TYPE, out int type);
                _ = Libc.GetSockOptInt(fd, Libc.SOL_SOCKET, Libc.SO_ACCEPTCONN, out int accepting);
                return new Info(FileKind.Socket, domain, type, accepting != 0);
            case Libc.S_IFIFO:
                return new Info(FileKind.Fifo, 0, 0, false);
            case Libc.S_IFCHR:
                return new Info(FileKind.CharacterDevice, 0, 0, false);
            case Libc.S_IFBLK:
                return new Info(FileKind.BlockDevice, 0, 0, false);
            case Libc.S_IFDIR:
                return new Info(FileKind.Directory, 0, 0, false);
            case Libc.S_IFREG:
                // mqueue inodes are regular files of the mqueue file system; mq_getattr tells them apart.
                long* attributes = stackalloc long[16];
                return new Info(Libc.MqGetAttr(fd, attributes) == 0 ? FileKind.MessageQueue : FileKind.RegularFile, 0, 0, false);
            default:
                return new Info(FileKind.Other, 0, 0, false);
        }
    }

    internal sealed record Info(FileKind Kind, int Domain, int Type, bool Listening)
    {
        /// <summary>The device and inode the number referred to when examined; null if it was not open.</summary>
        public FileIdentity? Identity { get; init; }
    }

    /// <summary>The ownership state of one descriptor number, shared by every ListenFd made for it.</summary>
    private sealed class Ownership(Info info)
    {
        public int State = Owned;

        public Info Info { get; } = info;
    }
}
