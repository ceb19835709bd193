using System.Buffers.Binary;
using SdDaemon.Interop;
using SdDaemon.Notify;
using Xunit;

namespace SdDaemon.Tests.Notify;

/// <summary>Every NOTIFY_SOCKET form and every malformed one (spec N-1..N-5).</summary>
public sealed class NotifySocketAddressTests
{
    [Fact]
    public void N2_a_path_counts_its_trailing_NUL_in_the_address_length()
    {
        Assert.Equal(0, NotifySocketAddress.TryParse("/run/n", out NotifySocketAddress? a, out _));
        Assert.Equal(Libc.AF_UNIX, a!.Family);
        Assert.Equal(Libc.SOCK_DGRAM, a.SocketType);
        Assert.Equal(new byte[] { 1, 0, (byte)'/', (byte)'r', (byte)'u', (byte)'n', (byte)'/', (byte)'n', 0 }, a.SockAddr);
    }

    [Fact]
    public void N2_an_abstract_name_becomes_a_leading_NUL_and_its_length_has_no_trailing_NUL()
    {
        Assert.Equal(0, NotifySocketAddress.TryParse("@sd", out NotifySocketAddress? a, out _));
        Assert.Equal(new byte[] { 1, 0, 0, (byte)'s', (byte)'d' }, a!.SockAddr);
    }

    [Fact]
    public void N3_a_path_and_an_abstract_name_fit_107_bytes_as_in_libsystemd()
    {
        Assert.Equal(0, NotifySocketAddress.TryParse("/" + new string('p', 106), out _, out _));
        Assert.Equal(Errno.ENAMETOOLONG, NotifySocketAddress.TryParse("/" + new string('p', 107), out _, out string? detail));
        Assert.Contains("108 bytes", detail, StringComparison.Ordinal);
        Assert.Equal(0, NotifySocketAddress.TryParse("@" + new string('a', 106), out NotifySocketAddress? a, out _));
        Assert.Equal(2 + 107, a!.SockAddr.Length);
        Assert.Equal(Errno.EINVAL, NotifySocketAddress.TryParse("@" + new string('a', 107), out _, out _));
    }

    [Theory]
    [InlineData("", Errno.EPROTO)]            // N-1: set but empty (EPROTO from v253)
    [InlineData("relative/path", Errno.EPROTO)] // N-2: not / or @
    [InlineData("notify", Errno.EPROTO)]
    [InlineData(" /leading-space", Errno.EPROTO)]
    [InlineData("/", Errno.EINVAL)]           // N-3: too short
    [InlineData("@", Errno.EINVAL)]
    [InlineData("vsock:", Errno.EINVAL)]      // N-4: no port
    [InlineData("vsock:2", Errno.EINVAL)]
    [InlineData("vsock::1024", Errno.EINVAL)] // CID ANY cannot be sent to
    [InlineData("vsock:any:1024", Errno.EINVAL)]
    [InlineData("vsock:4294967295:1024", Errno.EINVAL)]
    [InlineData("vsock:-1:1024", Errno.ERANGE)]
    [InlineData("vsock:2:4294967295", Errno.EINVAL)] // VMADDR_PORT_ANY
    [InlineData("vsock:2:4294967296", Errno.ERANGE)]
    [InlineData("vsock:2:port", Errno.EINVAL)]
    [InlineData("vsock:2:", Errno.EINVAL)]
    [InlineData("vsock:guest:5", Errno.EINVAL)]
    [InlineData("vsock-tcp:2:5", Errno.EPROTO)]
    public void Malformed_values_give_the_errno_libsystemd_gives(string value, int errno)
    {
        Assert.Equal(errno, NotifySocketAddress.TryParse(value, out NotifySocketAddress? address, out string? detail));
        Assert.Null(address);
        Assert.False(string.IsNullOrEmpty(detail));
    }

    [Theory]
    [InlineData("vsock:2:1024", 0, 2u, 1024u)]
    [InlineData("vsock:host:9", 0, 2u, 9u)]
    [InlineData("vsock:hypervisor:9", 0, 0u, 9u)]
    [InlineData("vsock:local:9", 0, 1u, 9u)]
    [InlineData("vsock:0x10:0o17", 0, 16u, 15u)]   // N-5: systemd's number forms
    [InlineData("vsock-dgram:3:5", Libc.SOCK_DGRAM, 3u, 5u)]
    [InlineData("vsock-seqpacket:3:5", Libc.SOCK_SEQPACKET, 3u, 5u)]
    [InlineData("vsock-stream:3:5", Libc.SOCK_STREAM, 3u, 5u)]
    public void N4_vsock_forms_select_AF_VSOCK_with_cid_port_and_type(string value, int type, uint cid, uint port)
    {
        Assert.Equal(0, NotifySocketAddress.TryParse(value, out NotifySocketAddress? a, out _));
        Assert.Equal(Libc.AF_VSOCK, a!.Family);
        Assert.Equal(type, a.SocketType);
        Assert.Equal(16, a.SockAddr.Length); // sizeof(struct sockaddr_vm)
        Assert.Equal(Libc.AF_VSOCK, BinaryPrimitives.ReadUInt16LittleEndian(a.SockAddr));
        Assert.Equal(port, BinaryPrimitives.ReadUInt32LittleEndian(a.SockAddr.AsSpan(4)));
        Assert.Equal(cid, BinaryPrimitives.ReadUInt32LittleEndian(a.SockAddr.AsSpan(8)));
    }
}
