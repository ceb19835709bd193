using System.Runtime.InteropServices;
using Xunit;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace SdDaemon.Tests.Activation;

/// <summary>
/// ListenFds on real descriptors: duplicates placed at high numbers (without CLOEXEC, as a manager
/// passes them) stand in for fds 3, 4, ... which the test host's runtime already uses.
/// </summary>
[Collection("real descriptors")]
public sealed class ListenFdRealDescriptorTests : IDisposable
{
    private static int s_next = 700;
    private readonly List<IDisposable> _cleanup = [];
    private readonly int _first;

    public ListenFdRealDescriptorTests()
    {
        _first = Interlocked.Add(ref s_next, 20);
    }

    public void Dispose()
    {
        foreach (IDisposable d in _cleanup)
        {
            d.Dispose();
        }

        for (int fd = _first; fd < _first + 20; fd++)
        {
            _ = SdDaemon.Interop.Libc.Close(fd);
        }
    }

    private T Keep<T>(T disposable)
        where T : IDisposable
    {
        _cleanup.Add(disposable);
        return disposable;
    }

    /// <summary>Places the given handles at _first, _first+1, ... and runs ListenFds on them.</summary>
    private ListenFdsResult Pass(string? names, params SafeHandle[] handles)
    {
        for (int i = 0; i < handles.Length; i++)
        {
            TestLibc.PlaceAt((int)handles[i].DangerousGetHandle(), _first + i);
            Assert.False(TestLibc.IsCloseOnExec(_first + i));
        }

        var env = new DictionaryEnvironment(
            ("LISTEN_PID", Environment.ProcessId.ToString()),
            ("LISTEN_FDS", handles.Length.ToString()),
            ("LISTEN_FDNAMES", names));
        return ListenFds.Get(env, NativeActivationSystem.Instance, unsetEnvironment: true, firstFd: _first);
    }

    private Socket TcpListener(AddressFamily family = AddressFamily.InterNetwork)
    {
        var s = Keep(new Socket(family, SocketType.Stream, ProtocolType.Tcp));
        s.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback, 0));
        s.Listen();
        return s;
    }

    [Fact]
    public void L5_passed_descriptors_become_close_on_exec_and_a_child_inherits_none_of_them()
    {
        Socket listener = TcpListener();
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using ListenFdsResult fds = Pass("web:dns", listener.SafeHandle, udp.SafeHandle);
        Assert.True(fds.IsActivated);
        Assert.True(TestLibc.IsCloseOnExec(_first));
        Assert.True(TestLibc.IsCloseOnExec(_first + 1));

        // A child started now must not hold them: list its open descriptors.
        var info = new ProcessStartInfo("/bin/sh", ["-c", "ls /proc/self/fd"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using Process child = Process.Start(info)!;
        string[] open = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        Assert.DoesNotContain(_first.ToString(), open);
        Assert.DoesNotContain((_first + 1).ToString(), open);
        Assert.Contains("0", open); // the listing itself works
    }

    [Fact]
    public void Kinds_and_socket_properties_of_real_descriptors()
    {
        Socket tcp4 = TcpListener();
        Socket tcp6 = TcpListener(AddressFamily.InterNetworkV6);
        var udp = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        string dir = Directory.CreateTempSubdirectory("sdd-lf-").FullName;
        var unixDgram = Keep(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified));
        unixDgram.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "d.sock")));
        var seq = Keep(new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified));
        seq.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "s.sock")));
        seq.Listen();
        string fifo = Path.Combine(dir, "fifo");
        Assert.Equal(0, TestLibc.MkFifo(fifo, 0x1b6));
        var fifoHandle = Keep(File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite));
        var file = Keep(File.OpenHandle(Path.Combine(dir, "f"), FileMode.Create, FileAccess.ReadWrite));
        var devNull = Keep(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.ReadWrite));

        using ListenFdsResult fds = Pass("tcp4:tcp6:udp:ud:seq:fifo:file:null",
            tcp4.SafeHandle, tcp6.SafeHandle, udp.SafeHandle, unixDgram.SafeHandle, seq.SafeHandle, fifoHandle, file, devNull);
        Assert.Equal(8, fds.Count);
        Assert.Equal(
            [
                (FileKind.Socket, AddressFamily.InterNetwork, SocketType.Stream, true),
                (FileKind.Socket, AddressFamily.InterNetworkV6, SocketType.Stream, true),
                (FileKind.Socket, AddressFamily.InterNetwork, SocketType.Dgram, false),
                (FileKind.Socket, AddressFamily.Unix, SocketType.Dgram, false),
                (FileKind.Socket, AddressFamily.Unix, SocketType.Seqpacket, true),
                (FileKind.Fifo, AddressFamily.Unknown, SocketType.Unknown, false),
                (FileKind.RegularFile, AddressFamily.Unknown, SocketType.Unknown, false),
                (FileKind.CharacterDevice, AddressFamily.Unknown, SocketType.Unknown, false),
            ],
            fds.Select(f => (f.Kind, f.SocketFamily, f.SocketType, f.IsListening)));
        Assert.Equal([2, 10, 2, 1, 1, 0, 0, 0], fds.Select(f => f.SocketDomain));
        Directory.Delete(dir, true);
    }

    [Fact]
    public async Task ToSocket_gives_a_listening_TCP_socket_that_accepts()
    {
        Socket original = TcpListener();
        var endPoint = (IPEndPoint)original.LocalEndPoint!;
        using ListenFdsResult fds = Pass("web", original.SafeHandle);
        original.Dispose(); // only the passed duplicate remains

        using Socket listener = fds.First("web")!.ToSocket();
        Assert.Equal(AddressFamily.InterNetwork, listener.AddressFamily);
        Assert.Equal(SocketType.Stream, listener.SocketType);
        Assert.Equal(endPoint, listener.LocalEndPoint);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(endPoint);
        using Socket accepted = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await client.SendAsync(new byte[] { 42 });
        byte[] buffer = new byte[1];
        Assert.Equal(1, await accepted.ReceiveAsync(buffer));
        Assert.Equal(42, buffer[0]);
    }

    [Fact]
    public void ToSocket_works_for_UDP_and_Unix_datagram_and_seqpacket()
    {
        string dir = Directory.CreateTempSubdirectory("sdd-lf-").FullName;
        var udp = Keep(new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var ud = Keep(new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified));
        ud.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "d.sock")));
        var seq = Keep(new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified));
        seq.Bind(new UnixDomainSocketEndPoint(Path.Combine(dir, "s.sock")));
        seq.Listen();
        using ListenFdsResult fds = Pass(null, udp.SafeHandle, ud.SafeHandle, seq.SafeHandle);
        using Socket s0 = fds[0].ToSocket();
        using Socket s1 = fds[1].ToSocket();
        using Socket s2 = fds[2].ToSocket();
        Assert.Equal((AddressFamily.InterNetwork, SocketType.Dgram), (s0.AddressFamily, s0.SocketType));
        Assert.Equal((AddressFamily.Unix, SocketType.Dgram), (s1.AddressFamily, s1.SocketType));
        Assert.Equal((AddressFamily.Unix, SocketType.Seqpacket), (s2.AddressFamily, s2.SocketType));

        using var sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        sender.SendTo(new byte[] { 7 }, new UnixDomainSocketEndPoint(Path.Combine(dir, "d.sock")));
        byte[] buffer = new byte[4];
        Assert.Equal(1, s1.Receive(buffer));
        Directory.Delete(dir, true);
    }

    [Fact]
    public void ToSocket_on_a_netlink_socket_does_not_throw()
    {
        int fd = SdDaemon.Interop.Libc.Socket(16 /* AF_NETLINK */, 2 /* SOCK_DGRAM */ | 0x80000, 0 /* NETLINK_ROUTE */);
        Assert.True(fd >= 0);
        var handle = Keep(new SafeFileHandle(fd, true));
        using ListenFdsResult fds = Pass("nl", handle);
        Assert.Equal(FileKind.Socket, fds[0].Kind);
        Assert.Equal(16, fds[0].SocketDomain);
        Assert.Equal(AddressFamily.Unknown, fds[0].SocketFamily);
        using Socket socket = fds[0].ToSocket();
        Assert.Equal(SocketType.Dgram, socket.SocketType);
    }

    [Fact]
    public void ToSocket_on_a_vsock_socket_does_not_throw_where_the_kernel_has_vsock()
    {
        int fd = SdDaemon.Interop.Libc.Socket(40 /* AF_VSOCK */, 1 /* SOCK_STREAM */ | 0x80000, 0);
        if (fd < 0)
        {
            return; // no vsock transport in this kernel; netlink covers the unmodeled-family path
        }

        var handle = Keep(new SafeFileHandle(fd, true));
        using ListenFdsResult fds = Pass("vs", handle);
        Assert.Equal(40, fds[0].SocketDomain);
        using Socket socket = fds[0].ToSocket();
        Assert.Equal(SocketType.Stream, socket.SocketType);
    }

    [Fact]
    public void ToStream_reads_a_passed_FIFO_and_writes_a_passed_file()
    {
        string dir = Directory.CreateTempSubdirectory("sdd-lf-").FullName;
        string fifo = Path.Combine(dir, "fifo");
        Assert.Equal(0, TestLibc.MkFifo(fifo, 0x1b6));
        var fifoHandle = Keep(File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite));
        var fileHandle = Keep(File.OpenHandle(Path.Combine(dir, "f"), FileMode.Create, FileAccess.Write));
        using ListenFdsResult fds = Pass("fifo:log", fifoHandle, fileHandle);

        using (Stream log = fds.First("log")!.ToStream())
        {
            Assert.True(log.CanWrite);
            Assert.False(log.CanRead);
            log.Write("hello"u8);
        }

        Assert.Equal("hello", File.ReadAllText(Path.Combine(dir, "f")));
        using Stream pipe = fds.First("fifo")!.ToStream();
        Assert.True(pipe.CanRead && pipe.CanWrite);
        Assert.False(pipe.CanSeek);
        pipe.Write("x"u8);
        Assert.Equal('x', pipe.ReadByte());
        Directory.Delete(dir, true);
    }

    [Fact]
    public void Ownership_taking_twice_is_an_error_not_a_double_close()
    {
        Socket tcp = TcpListener();
        using ListenFdsResult fds = Pass("web", tcp.SafeHandle);
        ListenFd web = fds[0];
        SafeFileHandle handle = web.TakeHandle();
        Assert.True(web.IsTaken);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => web.ToSocket());
        Assert.Contains("already taken", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => web.TakeHandle());

        fds.Dispose(); // a taken descriptor is not closed by the result
        Assert.True(TestLibc.IsOpen(_first));
        handle.Dispose();
        Assert.False(TestLibc.IsOpen(_first));
        Assert.Equal(_first, web.Fd); // the number stays readable
    }

    [Fact]
    public void Disposing_the_result_closes_untaken_descriptors_only()
    {
        Socket a = TcpListener();
        Socket b = TcpListener();
        ListenFdsResult fds = Pass("a:b", a.SafeHandle, b.SafeHandle);
        using Socket taken = fds.First("b")!.ToSocket();
        fds.Dispose();
        Assert.False(TestLibc.IsOpen(_first));
        Assert.True(TestLibc.IsOpen(_first + 1));
        Assert.Throws<InvalidOperationException>(() => fds[0].TakeHandle());
    }

    [Fact]
    public void Wrong_conversions_are_clear_errors_that_keep_ownership()
    {
        var devNull = Keep(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read));
        Socket tcp = TcpListener();
        using ListenFdsResult fds = Pass("null:web", devNull, tcp.SafeHandle);
        Assert.Throws<InvalidOperationException>(() => fds[0].ToSocket());
        Assert.False(fds[0].IsTaken);
        Assert.Throws<InvalidOperationException>(() => fds[1].ToStream()); // a listening socket has no stream
        Assert.False(fds[1].IsTaken);
    }

    [Fact]
    public unsafe void ToStream_on_a_connected_stream_socket_is_a_NetworkStream()
    {
        int* pair = stackalloc int[2];
        Assert.Equal(0, SdDaemon.Interop.Libc.SocketPair(1, 1 | 0x80000, 0, pair));
        var ours = Keep(new SafeFileHandle(pair[0], true));
        using var peer = new Socket(new SafeSocketHandle(pair[1], true));
        using ListenFdsResult fds = Pass("connection", ours);
        Assert.False(fds[0].IsListening);
        using Stream stream = fds.First(ListenFds.ConnectionName)!.ToStream();
        Assert.IsType<NetworkStream>(stream);
        stream.Write("hi"u8);
        byte[] buffer = new byte[2];
        Assert.Equal(2, peer.Receive(buffer));
        Assert.Equal("hi"u8.ToArray(), buffer);
    }

    [Fact]
    public void A_descriptor_that_is_not_open_has_kind_Unknown()
    {
        var fds = new ListenFdsResult([new ListenFd(_first + 19, "gone")]);
        Assert.Equal(FileKind.Unknown, fds[0].Kind);
        Assert.Throws<InvalidOperationException>(() => fds[0].ToSocket());
    }

    private ListenFdsResult PassAgain(int count) =>
        ListenFds.Get(
            new DictionaryEnvironment(("LISTEN_PID", Environment.ProcessId.ToString()), ("LISTEN_FDS", count.ToString()), ("LISTEN_FDNAMES", null)),
            NativeActivationSystem.Instance,
            unsetEnvironment: false,
            firstFd: _first);

    [Fact]
    public void Two_Get_calls_share_ownership_a_taken_fd_is_taken_in_both_and_closed_by_neither()
    {
        var (r1, w1) = Support.Fds.Pipe();
        var (r2, w2) = Support.Fds.Pipe();
        Keep(w1);
        Keep(w2);
        using ListenFdsResult first = Pass(null, Keep(r1), Keep(r2));
        using ListenFdsResult second = PassAgain(2);
        Assert.True(second.IsActivated);

        using SafeFileHandle taken = first[0].TakeHandle();
        Assert.True(second[0].IsTaken);
        Assert.Throws<InvalidOperationException>(() => second[0].TakeHandle());
        Assert.Throws<InvalidOperationException>(() => second[0].ToStream());

        // Disposing either result leaves the taken fd open and closes the untaken one once.
        second.Dispose();
        Assert.True(TestLibc.IsOpen(_first));
        Assert.False(TestLibc.IsOpen(_first + 1));
        Assert.Throws<InvalidOperationException>(() => first[1].TakeHandle()); // closed through the other result
        first.Dispose();
        Assert.True(TestLibc.IsOpen(_first));
        Assert.False(taken.IsInvalid);
    }

    [Fact]
    public void L10_a_number_reused_for_another_file_after_its_taker_closed_it_is_refused_with_EBADF()
    {
        var (r1, w1) = Support.Fds.Pipe();
        Keep(w1);
        using ListenFdsResult first = Pass(null, Keep(r1));
        first[0].TakeHandle().Dispose(); // the taker closes it
        Assert.False(TestLibc.IsOpen(_first));

        // Even without CLOEXEC (dup2 clears it), the new file at that number was not passed.
        var (r2, w2) = Support.Fds.Pipe();
        Keep(w2);
        TestLibc.PlaceAt((int)Keep(r2).DangerousGetHandle(), _first);
        using ListenFdsResult second = PassAgain(1);
        Assert.Equal(ActivationOutcome.Failed, second.Outcome);
        Assert.Equal(9, second.Errno);
        Assert.Empty(second);
        second.Dispose();
        Assert.True(TestLibc.IsOpen(_first)); // refused, so never closed by the library
    }

    [Fact]
    public void L10_a_number_reused_after_the_result_closed_it_is_refused_with_EBADF()
    {
        var (r1, w1) = Support.Fds.Pipe();
        Keep(w1);
        Pass(null, Keep(r1)).Dispose();
        Assert.False(TestLibc.IsOpen(_first));

        var (r2, w2) = Support.Fds.Pipe();
        Keep(w2);
        TestLibc.PlaceAt((int)Keep(r2).DangerousGetHandle(), _first);
        ListenFdsResult again = PassAgain(1);
        Assert.Equal((ActivationOutcome.Failed, 9), (again.Outcome, again.Errno));
        again.Dispose();
        Assert.True(TestLibc.IsOpen(_first));
    }

    [Fact]
    public void L10_a_close_on_exec_descriptor_this_process_opened_is_refused_with_EBADF_and_left_open()
    {
        var (r1, w1) = Support.Fds.Pipe();
        var (r2, w2) = Support.Fds.Pipe();
        Keep(w1);
        Keep(w2);
        // _first as a manager passes it (no CLOEXEC); _first+1 as the runtime opens its own (CLOEXEC),
        // which is also what a passed fd closed before the first Get looks like once its number is reused.
        TestLibc.PlaceAt((int)Keep(r1).DangerousGetHandle(), _first);
        TestLibc.PlaceAt((int)Keep(r2).DangerousGetHandle(), _first + 1);
        Assert.Equal(0, SdDaemon.Interop.Libc.Fcntl(_first + 1, 2 /* F_SETFD */, TestLibc.FD_CLOEXEC));

        using ListenFdsResult both = PassAgain(2);
        Assert.Equal(ActivationOutcome.Failed, both.Outcome);
        Assert.Equal(9, both.Errno);
        Assert.Contains($"fd {_first + 1} ", both.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("close-on-exec", both.ErrorMessage, StringComparison.Ordinal);
        both.Dispose();
        Assert.True(TestLibc.IsOpen(_first + 1)); // never the library's to close

        // The first was examined before the library made it close-on-exec: it stays a passed one.
        Assert.True(TestLibc.IsCloseOnExec(_first));
        using ListenFdsResult one = PassAgain(1);
        Assert.Equal(ActivationOutcome.Activated, one.Outcome);
        Assert.Equal(FileKind.Fifo, one[0].Kind);
    }

    [Fact]
    public void Kind_is_examined_when_the_object_is_made_not_on_first_use()
    {
        var (r1, w1) = Support.Fds.Pipe();
        Keep(w1);
        using ListenFdsResult fds = Pass(null, Keep(r1));
        // Replace the number with a socket before anything was asked: the object still describes
        // what was passed (a FIFO), not what the number refers to now.
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.Equal(_first, SdDaemon.Interop.Libc.Dup2((int)udp.SafeHandle.DangerousGetHandle(), _first));
        Assert.Equal(FileKind.Fifo, fds[0].Kind);
        Assert.Throws<InvalidOperationException>(() => fds[0].ToSocket());
    }

    [Fact]
    public async Task ToStream_on_a_FIFO_opened_O_NONBLOCK_as_systemd_does_waits_for_data()
    {
        string dir = Directory.CreateTempSubdirectory("sdd-lf-").FullName;
        string fifo = Path.Combine(dir, "fifo");
        Assert.Equal(0, TestLibc.MkFifo(fifo, 0x1b6));
        // socket.c: O_RDWR|O_CLOEXEC|O_NOCTTY|O_NONBLOCK|O_NOFOLLOW.
        int fd = TestLibc.Open(fifo, 0x2 | 0x80000 | 0x100 | 0x800 | 0x20000);
        Assert.True(fd >= 0);
        using ListenFdsResult fds = Pass("fifo", Keep(new SafeFileHandle(fd, true)));
        Assert.Equal(FileKind.Fifo, fds[0].Kind);
        using Stream stream = fds[0].ToStream();
        Assert.Equal(0, SdDaemon.Interop.Libc.Fcntl(_first, 3 /* F_GETFL */, 0) & 0x800);

        Task writer = Task.Run(async () =>
        {
            await Task.Delay(300);
            using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            w.Write("late"u8);
        });
        byte[] buffer = new byte[4];
        var clock = Stopwatch.StartNew();
        int n = await Task.Run(() => stream.Read(buffer)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(clock.ElapsedMilliseconds >= 200, $"read returned after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(4, n);
        Assert.Equal("late"u8.ToArray(), buffer);
        await writer;
        Directory.Delete(dir, true);
    }
}
