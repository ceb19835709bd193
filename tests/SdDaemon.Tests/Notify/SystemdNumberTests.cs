using SdDaemon.Environ;
using SdDaemon.Interop;
using Xunit;

namespace SdDaemon.Tests.Notify;

/// <summary>Spec N-5: numbers are read like systemd's safe_atou64 / safe_atoi / parse_pid.</summary>
public sealed class SystemdNumberTests
{
    [Theory]
    [InlineData("0", 0UL)]
    [InlineData("42", 42UL)]
    [InlineData("  42", 42UL)]       // leading whitespace skipped
    [InlineData("\t\n 7", 7UL)]
    [InlineData("\v12", 12UL)]         // strtoul skips \v too
    [InlineData("\v0x10", 16UL)]       // strtoul's own 0x
    [InlineData("+42", 42UL)]
    [InlineData("0x1F", 31UL)]
    [InlineData("0X1f", 31UL)]
    [InlineData("0o17", 15UL)]
    [InlineData("0b101", 5UL)]
    [InlineData("017", 15UL)]        // leading-0 octal
    [InlineData("-0", 0UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    public void N5_accepted_forms(string text, ulong expected)
    {
        Assert.Equal(0, SystemdNumber.TryParseUInt64(text, out ulong value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("", Errno.EINVAL)]
    [InlineData(" ", Errno.EINVAL)]
    [InlineData("42 ", Errno.EINVAL)]   // trailing garbage, even whitespace
    [InlineData("42x", Errno.EINVAL)]
    [InlineData("4 2", Errno.EINVAL)]
    [InlineData("08", Errno.EINVAL)]    // not octal
    [InlineData("0x", Errno.EINVAL)]
    [InlineData("0b", Errno.EINVAL)]
    [InlineData("0b2", Errno.EINVAL)]
    [InlineData("-0b1", Errno.EINVAL)]  // systemd strips 0b before a sign is seen
    [InlineData("+0o7", Errno.EINVAL)]
    [InlineData("\v0b1", Errno.EINVAL)] // systemd's WHITESPACE has no \v: no 0b prefix after it
    [InlineData("0o 7", Errno.EINVAL)]  // deliberately stricter: systemd's strtoul reads " 7" after 0o
    [InlineData("0o+7", Errno.EINVAL)]  // ... and "+7"
    [InlineData("0o-1", Errno.EINVAL)]  // ... and "-1" (systemd: ERANGE)
    [InlineData("0b\t1", Errno.EINVAL)]
    [InlineData("-1", Errno.ERANGE)]
    [InlineData("18446744073709551616", Errno.ERANGE)]
    [InlineData("99999999999999999999999", Errno.ERANGE)]
    [InlineData("1.5", Errno.EINVAL)]
    [InlineData("٣", Errno.EINVAL)]      // only ASCII digits
    public void N5_rejected_forms(string text, int errno)
    {
        Assert.Equal(errno, SystemdNumber.TryParseUInt64(text, out ulong value));
        Assert.Equal(0UL, value);
    }

    [Theory]
    [InlineData("4294967295", 0, 4294967295u)]
    [InlineData("4294967296", Errno.ERANGE, 0u)]
    public void UInt32_range(string text, int errno, uint expected)
    {
        Assert.Equal(errno, SystemdNumber.TryParseUInt32(text, out uint value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("-5", 0, -5)]
    [InlineData("2147483647", 0, int.MaxValue)]
    [InlineData("-2147483648", 0, int.MinValue)]
    [InlineData("2147483648", Errno.ERANGE, 0)]
    [InlineData("-0x10", 0, -16)]
    public void Int32_range_and_sign(string text, int errno, int expected)
    {
        Assert.Equal(errno, SystemdNumber.TryParseInt32(text, out int value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1", 0, 1)]
    [InlineData("0", Errno.ERANGE, 0)]
    [InlineData("-1", Errno.ERANGE, 0)]
    [InlineData("2147483648", Errno.ERANGE, 0)]
    [InlineData("pid", Errno.EINVAL, 0)]
    public void Pids_are_positive(string text, int errno, int expected)
    {
        Assert.Equal(errno, SystemdNumber.TryParsePid(text, out int pid));
        Assert.Equal(expected, pid);
    }
}
