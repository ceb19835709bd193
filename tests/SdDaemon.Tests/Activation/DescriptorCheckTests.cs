using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace SdDaemon.Tests.Activation;

/// <summary>Spec L-9: the sd_is_* checks on real descriptors, with yes / no / error.</summary>
public sealed class DescriptorCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sdd-is-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Socket Tcp(AddressFamily family, bool listen)
    {
        var s = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        if (listen)
        {
            s.Listen();
        }

        return s;
    }

    [Fact]
    public void L9_IsFifo_yes_for_a_fifo_and_compares_the_path_by_inode()
    {
        string fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, TestLibc.MkFifo(fifo, 0x1b6));
        File.Create(Path.Combine(_dir, "other")).Dispose();
        using SafeFileHandle h = File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite);
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsFifo(h));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsFifo(h, fifo));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(h, Path.Combine(_dir, "other")));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(h, Path.Combine(_dir, "missing")));       // ENOENT: no
        Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(h, Path.Combine(_dir, "other", "x")));    // ENOTDIR: no
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSpecial(h));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(h));
    }

    [Fact]
    public void L9_IsSpecial_yes_for_regular_files_and_character_devices()
    {
        string file = Path.Combine(_dir, "f");
        using SafeFileHandle regular = File.OpenHandle(file, FileMode.Create, FileAccess.ReadWrite);
        using SafeFileHandle devNull = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSpecial(regular));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSpecial(regular, file));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSpecial(regular, "/dev/null"));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSpecial(devNull));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSpecial(devNull, "/dev/null"));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSpecial(devNull, "/dev/zero")); // another device number
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSpecial(devNull, file));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(regular));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsMessageQueue(regular));
    }

    [Fact]
    public void L9_errors_for_negative_closed_and_disposed_descriptors()
    {
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsFifo(-1));
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsSocket(-5));
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsMessageQueue(-1));
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsSpecial(987_654));
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsSocketUnix(987_654));
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsMessageQueue(987_654));
        var h = File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read);
        h.Dispose();
        Assert.Equal(CheckResult.Failure(9), DescriptorCheck.IsSpecial(h));
        SdDaemonException e = Assert.Throws<SdDaemonException>(() => DescriptorCheck.IsFifo(-1).ThrowIfFailed());
        Assert.Equal(9, e.Errno);
    }

    [Fact]
    public void L9_IsSocket_checks_family_type_and_listening_on_TCP_v4_and_v6()
    {
        using Socket v4 = Tcp(AddressFamily.InterNetwork, listen: true);
        using Socket v6 = Tcp(AddressFamily.InterNetworkV6, listen: true);
        using Socket v4Bound = Tcp(AddressFamily.InterNetwork, listen: false);
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(v4.SafeHandle));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(v4.SafeHandle, AddressFamily.InterNetwork, SocketType.Stream, listening: true));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(v4.SafeHandle, AddressFamily.InterNetworkV6));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(v4.SafeHandle, type: SocketType.Dgram));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(v4.SafeHandle, listening: false));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(v4Bound.SafeHandle, listening: false));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(v4Bound.SafeHandle, listening: true));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(v6.SafeHandle, AddressFamily.InterNetworkV6, SocketType.Stream, true));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(v6.SafeHandle, AddressFamily.Unix));
    }

    [Fact]
    public void L9_IsSocketInet_compares_family_and_port_in_host_order()
    {
        using Socket v4 = Tcp(AddressFamily.InterNetwork, listen: true);
        using Socket v6 = Tcp(AddressFamily.InterNetworkV6, listen: true);
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        ushort port4 = (ushort)((IPEndPoint)v4.LocalEndPoint!).Port;
        ushort port6 = (ushort)((IPEndPoint)v6.LocalEndPoint!).Port;
        ushort portU = (ushort)((IPEndPoint)udp.LocalEndPoint!).Port;

        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketInet(v4.SafeHandle, port: port4));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketInet(v4.SafeHandle, AddressFamily.InterNetwork, SocketType.Stream, true, port4));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketInet(v4.SafeHandle, port: (ushort)(port4 ^ 1)));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketInet(v4.SafeHandle, AddressFamily.InterNetworkV6));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketInet(v6.SafeHandle, AddressFamily.InterNetworkV6, port: port6));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketInet(udp.SafeHandle, AddressFamily.InterNetwork, SocketType.Dgram, false, portU));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketInet(udp.SafeHandle, type: SocketType.Stream));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketInet(unix.SafeHandle));
        Assert.Throws<ArgumentException>(() => DescriptorCheck.IsSocketInet(v4.SafeHandle, AddressFamily.Unix));
    }

    [Fact]
    public void L9_IsSocketSockaddr_compares_address_and_port()
    {
        using Socket v4 = Tcp(AddressFamily.InterNetwork, listen: true);
        using Socket v6 = Tcp(AddressFamily.InterNetworkV6, listen: true);
        var ep4 = (IPEndPoint)v4.LocalEndPoint!;
        var ep6 = (IPEndPoint)v6.LocalEndPoint!;
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketSockaddr(v4.SafeHandle, ep4, SocketType.Stream, true));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketSockaddr(v4.SafeHandle, new IPEndPoint(IPAddress.Loopback, 0)));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketSockaddr(v4.SafeHandle, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0)));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketSockaddr(v4.SafeHandle, new IPEndPoint(IPAddress.Loopback, ep4.Port ^ 1)));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketSockaddr(v4.SafeHandle, ep6));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketSockaddr(v6.SafeHandle, ep6));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketSockaddr(v6.SafeHandle, new IPEndPoint(IPAddress.IPv6Any, ep6.Port)));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketSockaddr(v6.SafeHandle, ep6, listening: false));
    }

    [Fact]
    public void L9_IsSocketUnix_path_abstract_and_unnamed()
    {
        string path = Path.Combine(_dir, "s.sock");
        using var named = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        named.Bind(new UnixDomainSocketEndPoint(path));
        named.Listen();
        string abstractName = "sdd-is-" + Guid.NewGuid().ToString("N");
        using var abs = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        abs.Bind(new UnixDomainSocketEndPoint("\0" + abstractName));
        using var unnamed = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        using var tcp = Tcp(AddressFamily.InterNetwork, listen: true);

        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(named.SafeHandle, SocketType.Stream, true, path));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(named.SafeHandle, path: path + "x"));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(named.SafeHandle, path: path[..^1]));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(named.SafeHandle, path: ""));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(named.SafeHandle, SocketType.Dgram));

        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(abs.SafeHandle, SocketType.Dgram, false, "@" + abstractName));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(abs.SafeHandle, path: "\0" + abstractName));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(abs.SafeHandle, path: "@" + abstractName[..^1])); // exact length
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(abs.SafeHandle, path: "/" + abstractName));

        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(unnamed.SafeHandle, SocketType.Seqpacket, false, ""));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(unnamed.SafeHandle));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(unnamed.SafeHandle, path: "@x"));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketUnix(tcp.SafeHandle));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(named.SafeHandle, AddressFamily.Unix));
    }

    [Fact]
    public unsafe void L9_IsMessageQueue_yes_for_a_POSIX_queue_and_compares_its_name_by_inode()
    {
        string name = "/sdd-is-" + Guid.NewGuid().ToString("N")[..12];
        int fd = TestLibc.MqOpen(name, 2 /* O_RDWR */ | 0x40 /* O_CREAT */ | 0x80000, 0x180, null);
        Assert.True(fd >= 0, $"mq_open failed: {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        try
        {
            using var handle = new SafeFileHandle(fd, ownsHandle: true);
            Assert.Equal(CheckResult.Yes, DescriptorCheck.IsMessageQueue(handle));
            Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(handle));

            // The name check stats /dev/mqueue/NAME: where mqueue is mounted, the same queue is yes;
            // where it is not (a container), that stat fails with ENOENT.
            CheckResult byName = DescriptorCheck.IsMessageQueue(handle, name);
            if (Directory.Exists("/dev/mqueue"))
            {
                Assert.Equal(CheckResult.Yes, byName);
            }
            else
            {
                Assert.Equal(CheckResult.Failure(2), byName);
            }

            var queues = new ListenFdsResult([new ListenFd(fd, "mq")]);
            Assert.Equal(FileKind.MessageQueue, queues[0].Kind);
        }
        finally
        {
            _ = TestLibc.MqUnlink(name);
        }

        using var pair0 = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Assert.Equal(CheckResult.No, DescriptorCheck.IsMessageQueue(pair0.SafeHandle));
    }

    [Fact]
    public void L9_socketpair_is_an_unnamed_connected_Unix_socket()
    {
        (Socket a, Socket b) = SocketPair();
        using (a)
        using (b)
        {
            Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocketUnix(a.SafeHandle, SocketType.Stream, false, ""));
            Assert.Equal(CheckResult.No, DescriptorCheck.IsSocketInet(a.SafeHandle));
            Assert.Equal(CheckResult.No, DescriptorCheck.IsFifo(a.SafeHandle));
        }
    }

    private static unsafe (Socket, Socket) SocketPair()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, SdDaemon.Interop.Libc.SocketPair(1, 1 | 0x80000, 0, fds));
        return (new Socket(new SafeSocketHandle(fds[0], true)), new Socket(new SafeSocketHandle(fds[1], true)));
    }

    [Fact]
    public void CheckResult_text_is_stable()
    {
        Assert.Equal("yes", CheckResult.Yes.ToString());
        Assert.Equal("no", CheckResult.No.ToString());
        Assert.StartsWith("failed: errno 9", CheckResult.Failure(9).ToString(), StringComparison.Ordinal);
        Assert.True(CheckResult.Yes.ThrowIfFailed());
        Assert.False(CheckResult.No.ThrowIfFailed());
        _ = Encoding.UTF8;
    }

    [Fact]
    public void L9_IsSocket_with_an_AF_number_accepts_families_dotnet_does_not_model()
    {
        int fd = SdDaemon.Interop.Libc.Socket(16 /* AF_NETLINK */, 2 /* SOCK_DGRAM */ | 0x80000, 0 /* NETLINK_ROUTE */);
        Assert.True(fd >= 0);
        using var netlink = new SafeFileHandle(fd, true);
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(fd, 16));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(netlink, 16, SocketType.Dgram, listening: false));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(fd, 0));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(fd, 2 /* AF_INET */));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(fd, 40 /* AF_VSOCK */));
        Assert.Equal(CheckOutcome.Failed, DescriptorCheck.IsSocket(fd, -1).Outcome);
        Assert.Equal(22, DescriptorCheck.IsSocket(fd, -1).Errno);
        Assert.Equal(9, DescriptorCheck.IsSocket(-1, 16).Errno);

        using Socket udp = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(udp.SafeHandle, 2));
        Assert.Equal(CheckResult.No, DescriptorCheck.IsSocket(udp.SafeHandle, 16));
        // The AddressFamily overloads still work, and still refuse families they cannot map.
        Assert.Equal(CheckResult.Yes, DescriptorCheck.IsSocket(udp.SafeHandle, AddressFamily.InterNetwork));
        Assert.Throws<ArgumentException>(() => DescriptorCheck.IsSocket(fd, AddressFamily.Packet));
    }
}
