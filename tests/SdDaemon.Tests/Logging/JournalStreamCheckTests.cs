using System.Globalization;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Logging;
using Xunit;

namespace SdDaemon.Tests.Logging;

/// <summary>JOURNAL_STREAM detection (spec J-2): both numbers must match fstat of the descriptor.</summary>
public sealed class JournalStreamCheckTests
{
    [Theory]
    [InlineData("8:1234", true, 8UL, 1234UL)]
    [InlineData("0:18446744073709551615", true, 0UL, ulong.MaxValue)]
    [InlineData("", false, 0UL, 0UL)]
    [InlineData("8", false, 0UL, 0UL)]
    [InlineData(":5", false, 0UL, 0UL)]
    [InlineData("8:", false, 0UL, 0UL)]
    [InlineData(" 8:5", false, 0UL, 0UL)]
    [InlineData("8:5x", false, 0UL, 0UL)]
    [InlineData("-8:5", false, 0UL, 0UL)]
    public void TryParse_reads_DEV_colon_INO_in_decimal(string text, bool ok, ulong device, ulong inode)
    {
        Assert.Equal(ok, JournalStreamCheck.TryParse(text, out ulong d, out ulong i));
        Assert.Equal(device, d);
        Assert.Equal(inode, i);
    }

    [Fact]
    public void Matches_only_when_device_and_inode_both_match_fstat()
    {
        string path = Path.GetTempFileName();
        try
        {
            using SafeFileHandle file = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
            (ulong device, ulong inode) = TestLibc.DeviceAndInode((int)file.DangerousGetHandle());
            string value = string.Create(CultureInfo.InvariantCulture, $"{device}:{inode}");

            Assert.True(JournalStreamCheck.Matches(value, file));
            Assert.Equal(value, JournalStreamCheck.Describe(file));
            Assert.False(JournalStreamCheck.Matches(string.Create(CultureInfo.InvariantCulture, $"{device}:{inode + 1}"), file));
            Assert.False(JournalStreamCheck.Matches(string.Create(CultureInfo.InvariantCulture, $"{device + 1}:{inode}"), file));
            Assert.False(JournalStreamCheck.Matches(null, file));
            Assert.False(JournalStreamCheck.Matches("garbage", file));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_socket_on_the_anonymous_sockfs_device_is_described_as_fstat_sees_it()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        (ulong device, ulong inode) = TestLibc.DeviceAndInode((int)socket.Handle);
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"{device}:{inode}"), JournalStreamCheck.Describe(socket.SafeHandle));
    }

    [Fact]
    public void A_closed_handle_is_refused_with_ObjectDisposedException()
    {
        var file = File.OpenHandle(Path.GetTempFileName(), FileMode.Open);
        string value = JournalStreamCheck.Describe(file)!;
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => JournalStreamCheck.Matches(value, file));
    }
}
