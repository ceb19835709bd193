using System.Net.Sockets;
using System.Reflection;
using SdDaemon.Environ;
using SdDaemon.Logging;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Failures;

/// <summary>One failure model: every result has the same members, words an errno the same way, and throws one
/// exception type that carries the errno.</summary>
public sealed class FailureModelTests
{
    [Theory]
    [InlineData(typeof(NotifyResult))]
    [InlineData(typeof(ListenFdsResult))]
    [InlineData(typeof(CheckResult))]
    [InlineData(typeof(WatchdogStatus))]
    [InlineData(typeof(JournalSendResult))]
    [InlineData(typeof(MemoryPressureWatchResult))]
    public void Every_result_has_Outcome_IsFailed_Errno_ErrorMessage_and_ThrowIfFailed(Type result)
    {
        Assert.True(result.GetProperty("Outcome")!.PropertyType.IsEnum);
        Assert.Equal(typeof(bool), result.GetProperty("IsFailed")!.PropertyType);
        Assert.Equal(typeof(int), result.GetProperty("Errno")!.PropertyType);
        Assert.Equal(typeof(string), result.GetProperty("ErrorMessage")!.PropertyType);
        MethodInfo throwIfFailed = result.GetMethod("ThrowIfFailed", Type.EmptyTypes)!;
        Assert.Contains(throwIfFailed.ReturnType, new[] { result, typeof(bool) });
        // The three-valued contract: 0 is "nothing there", not a failure.
        Assert.Equal(3, Enum.GetValues(result.GetProperty("Outcome")!.PropertyType).Length);
    }

    [Fact]
    public void Every_exception_with_an_errno_is_an_SdDaemonException()
    {
        Assert.True(typeof(NotifyException).IsSubclassOf(typeof(SdDaemonException)));
        Assert.True(typeof(CredentialException).IsSubclassOf(typeof(SdDaemonException)));
        Assert.True(typeof(SdDaemonException).IsSubclassOf(typeof(IOException)));
    }

    [Fact]
    public void A_malformed_WATCHDOG_USEC_throws_with_the_call_the_variable_and_the_errno()
    {
        WatchdogStatus status = SdDaemon.Watchdog.Check(new FakeEnvironment((EnvironmentVariables.WatchdogUsec, "soon")), ownPid: 1, unsetEnvironment: false);
        SdDaemonException e = Assert.Throws<SdDaemonException>(() => status.ThrowIfFailed());
        Assert.Equal("sd_watchdog_enabled failed: WATCHDOG_USEC='soon' is not a number (errno 22: Invalid argument)", e.Message);
        Assert.Equal((22, 22), (e.Errno, e.HResult));
    }

    [Fact]
    public void A_journal_send_refused_by_the_socket_throws_with_the_errno()
    {
        string path = Path.Join(Path.GetTempPath(), $"sdd-stream-{Guid.NewGuid():N}");
        using var stream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        stream.Bind(new UnixDomainSocketEndPoint(path));
        stream.Listen();
        try
        {
            using JournalNativeWriter writer = JournalNativeWriter.Create(path);
            JournalSendResult result = writer.Send(new JournalEntry().Add("MESSAGE", "x"));
            Assert.True(result.IsFailed, result.ToString());
            SdDaemonException e = Assert.Throws<SdDaemonException>(() => result.ThrowIfFailed());
            Assert.Equal($"sd_journal_send failed: {result.ErrorMessage}", e.Message);
            Assert.StartsWith($"errno {result.Errno}: ", result.ErrorMessage);
            Assert.Equal(result.Errno, e.Errno);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Results_that_did_not_fail_have_no_ErrorMessage_and_do_not_throw()
    {
        Assert.Null(NotifyResult.NotListening.ThrowIfFailed().ErrorMessage);
        Assert.Null(ListenFdsResult.NotActivated.ThrowIfFailed().ErrorMessage);
        Assert.False(CheckResult.No.ThrowIfFailed());
        Assert.Null(new WatchdogStatus().ThrowIfFailed().ErrorMessage);
        Assert.Null(JournalSendResult.NotListening.ThrowIfFailed().ErrorMessage);
    }

    [Fact]
    public void An_errno_is_worded_one_way_everywhere()
    {
        Assert.Equal("errno 13: Permission denied", CheckResult.Failure(13).ErrorMessage);
        Assert.Equal("what (errno 13: Permission denied)", NotifyResult.Failure(13, "what").ErrorMessage);
        Assert.Equal("sd_notify failed: what (errno 13: Permission denied)", new NotifyException(NotifyResult.Failure(13, "what")).Message);
    }
}
