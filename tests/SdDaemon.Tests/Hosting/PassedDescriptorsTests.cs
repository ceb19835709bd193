using System.Net.Sockets;
using SdDaemon.Testing;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Hosting;

/// <summary>Issue 10, item 6: the host takes socket-activated descriptors at start whether or not the
/// application resolves ISdDaemonSockets (spec L-5, L-6: descriptors CLOEXEC, LISTEN_* unset).</summary>
public sealed class PassedDescriptorsTests
{
    [Fact]
    public void A_host_that_never_resolves_ISdDaemonSockets_still_hides_passed_fds_and_LISTEN_from_its_children()
    {
        string directory = Directory.CreateTempSubdirectory("sdd-host-fds-").FullName;
        try
        {
            string report = Path.Combine(directory, "report");
            using var stream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            stream.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory, "stream")));
            stream.Listen(4);
            using var datagrams = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            datagrams.Bind(new UnixDomainSocketEndPoint(Path.Combine(directory, "dgram")));

            // A process in its own right (environment and descriptors are process-wide), socket-activated
            // like the manager does it: fds 3 and 4, not CLOEXEC, LISTEN_PID its own pid.
            using ActivatedProcess host = ActivationLauncher.Start(TestDaemonChild.DotnetPath, [TestDaemonChild.DllPath, $"host-child={report}"],
                [new PassedFile(stream.SafeHandle, "stream"), new PassedFile(datagrams.SafeHandle, "dgram")],
                new Dictionary<string, string?> { ["NOTIFY_SOCKET"] = null });
            Assert.True(host.WaitForExit(TimeSpan.FromMinutes(1)), "the host did not exit");
            Assert.Equal(0, host.ExitCode);

            string[] lines = File.ReadAllLines(report);
            Assert.Equal(["child-fds=", "child-env=", "own-env="], lines);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
