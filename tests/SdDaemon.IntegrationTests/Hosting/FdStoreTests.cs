using System.Diagnostics;
using SdDaemon.IntegrationTests.Activation;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Hosting;

/// <summary>
/// The host's listener and the fd store as each manager of the matrix sees it (spec FS-1..FS-3):
/// ISdDaemonSockets.GetOrBind stores a listener it bound where $FDSTORE (systemd 254+) says there is
/// a store, never stores one the manager passed (it holds it already), and closes a second number for
/// the same socket. What the manager holds is what `systemctl show -p NFileDescriptorStore` says;
/// under PID 1 its journal must not say the store was full.
/// </summary>
public abstract class FdStoreTests(IRealManager manager) : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private const string StoreFull = "Cannot store more fds than FileDescriptorStoreMax=";
    private readonly string _dir = manager.CreateSharedDirectory("sdd-fdstore-");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The major version of the manager (the user manager of the matrix is 252).</summary>
    private int Version => manager is Pid1Container pid1 ? pid1.Version : 252;

    [RealManagerFact]
    public void FS1_FS2_a_bound_listener_is_stored_once_and_the_same_socket_comes_back_on_every_restart()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("fs-bound");
        string report = Path.Combine(_dir, "report");
        int port = SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "FileDescriptorStoreMax=2",
                .. TestDaemon.Command($"host-listener=web:{port}:{report}", "ready", "wait")]).EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
            Assert.Equal("1", manager.WaitForProperty(unit, "NFileDescriptorStore", "1", Patience));
            string inode = ListenerInode(manager.Property(unit, "MainPID"), port);

            for (int restart = 1; restart <= 2; restart++)
            {
                manager.Systemctl("restart", unit).EnsureSuccess("systemctl restart");
                Assert.Equal("active", manager.WaitForProperty(unit, "ActiveState", "active", Patience));
                // The one stored socket, passed back and not stored again: the store still holds it
                // (the 252 user manager too), and it is the socket the first instance bound.
                Assert.Equal("1", manager.Property(unit, "NFileDescriptorStore"));
                Assert.Equal(inode, ListenerInode(manager.Property(unit, "MainPID"), port));
            }

            string store = Version >= 254 ? "2" : "(unset)";
            Assert.Equal(
                [
                    $"FDSTORE={store}", "passed=", "same-socket-fds=1", "---",
                    $"FDSTORE={store}", "passed=web", "same-socket-fds=1", "---",
                    $"FDSTORE={store}", "passed=web", "same-socket-fds=1", "---",
                ],
                WaitForInstances(report, 3));
            Assert.DoesNotContain(StoreFull, Journal(unit), StringComparison.Ordinal);
        }
        finally
        {
            manager.Cleanup(unit);
        }
    }

    [RealManagerFact]
    public void FS1_without_FDSTORE_a_bound_listener_is_offered_once_per_start_and_FDSTORE_0_offers_nothing()
    {
        manager.EnsureRunning();
        string unknown = TestDaemon.UniqueUnit("fs-unset");
        string none = TestDaemon.UniqueUnit("fs-zero");
        try
        {
            // No FileDescriptorStoreMax=: no $FDSTORE, which a manager before 254 never sets either, so the
            // listener the host bound is offered, and refused, once per start (never again for a passed one).
            // Environment=FDSTORE=0 says there is no store: nothing is sent.
            foreach ((string unit, string[] properties) in new[] { (unknown, Array.Empty<string>()), (none, ["-p", "Environment=FDSTORE=0"]) })
            {
                string report = Path.Combine(_dir, unit);
                manager.SystemdRun(["--unit", unit, "-p", "Type=notify", "-p", "NotifyAccess=main", .. properties,
                    .. TestDaemon.Command($"host-listener=web:{SocketActivateTests.FreePort()}:{report}", "ready", "barrier=10000", "status=processed", "wait")]).EnsureSuccess("systemd-run");
                Assert.Equal("processed", manager.WaitForProperty(unit, "StatusText", "processed", Patience));
                Assert.Equal("0", manager.Property(unit, "NFileDescriptorStore"));
            }

            Assert.Equal(["FDSTORE=(unset)", "passed=", "same-socket-fds=1", "---"], WaitForInstances(Path.Combine(_dir, unknown), 1));
            Assert.Equal(["FDSTORE=0", "passed=", "same-socket-fds=1", "---"], WaitForInstances(Path.Combine(_dir, none), 1));
            if (manager is Pid1Container)
            {
                Assert.Equal(1, Count(Journal(unknown), StoreFull + "0"));
                Assert.Equal(0, Count(Journal(none), StoreFull));
                manager.Systemctl("restart", unknown).EnsureSuccess("systemctl restart");
                Assert.Equal("processed", manager.WaitForProperty(unknown, "StatusText", "processed", Patience));
                Assert.Equal(2, Count(Journal(unknown), StoreFull + "0"));
            }
        }
        finally
        {
            manager.Cleanup(unknown);
            manager.Cleanup(none);
        }
    }

    private static int Count(string text, string part) => text.Split(part).Length - 1;

    [RealManagerFact]
    public void FS2_a_socket_units_listener_is_served_but_not_put_in_the_store()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("fs-sock");
        string report = Path.Combine(_dir, "report");
        int port = SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "FileDescriptorStoreMax=2",
                    .. TestDaemon.Command($"host-listener=web:{port}:{report}", "ready", "barrier=10000", "status=processed", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".socket", "ActiveState", "active", Patience));
            manager.Systemctl("start", "--no-block", unit + ".service").EnsureSuccess("systemctl start");
            // Every message before the barrier was processed: had the host stored the socket unit's
            // listener (as before FS-2), the store would hold it.
            Assert.Equal("processed", manager.WaitForProperty(unit + ".service", "StatusText", "processed", Patience));
            Assert.Equal("0", manager.Property(unit + ".service", "NFileDescriptorStore"));
            Assert.Equal(["FDSTORE=" + (Version >= 254 ? "2" : "(unset)"), "passed=web", "same-socket-fds=1", "---"], WaitForInstances(report, 1));
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }

    [RealManagerFact]
    public void FS2_FS3_a_socket_units_listener_stored_by_an_older_version_comes_twice_and_the_second_number_is_closed()
    {
        manager.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("fs-dup");
        string report = Path.Combine(_dir, "report");
        string once = Path.Combine(_dir, "stored-again");
        int port = SocketActivateTests.FreePort();
        try
        {
            manager.SystemdRun(["--unit", unit,
                    "--socket-property=ListenStream=127.0.0.1:" + port, "--socket-property=FileDescriptorName=web",
                    "-p", "Type=notify", "-p", "NotifyAccess=main", "-p", "FileDescriptorStoreMax=2",
                    .. TestDaemon.Command($"host-listener=web:{port}:{report}:{once}", "ready", "wait")])
                .EnsureSuccess("systemd-run");
            Assert.Equal("active", manager.WaitForProperty(unit + ".socket", "ActiveState", "active", Patience));
            // The first instance stores the socket unit's listener, as versions before FS-2 did.
            manager.Systemctl("start", unit + ".service").EnsureSuccess("systemctl start");
            Assert.Equal("1", manager.WaitForProperty(unit + ".service", "NFileDescriptorStore", "1", Patience));

            manager.Systemctl("restart", unit + ".service").EnsureSuccess("systemctl restart");
            Assert.Equal("active", manager.WaitForProperty(unit + ".service", "ActiveState", "active", Patience));
            string store = Version >= 254 ? "2" : "(unset)";
            // The socket unit and the store both pass it; GetOrBind keeps one number and closes the other.
            Assert.Equal(
                [
                    $"FDSTORE={store}", "passed=web", "same-socket-fds=1", "---",
                    $"FDSTORE={store}", "passed=web,web", "same-socket-fds=1", "---",
                ],
                WaitForInstances(report, 2));
            Assert.Equal("1", manager.Property(unit + ".service", "NFileDescriptorStore"));
        }
        finally
        {
            manager.Cleanup(unit + ".socket");
            manager.Cleanup(unit + ".service");
        }
    }

    /// <summary>The inode of the socket listening on 127.0.0.1:PORT in the process, from /proc.</summary>
    private string ListenerInode(string pid, int port)
    {
        ProcessResult links = manager.InNamespace("sh", "-c", $"for f in /proc/{pid}/fd/*; do readlink $f; done");
        ProcessResult tcp = manager.InNamespace("cat", $"/proc/{pid}/net/tcp");
        // /proc/net/tcp: sl local_address rem_address st ... inode (field 9); 0100007F:PORT, state 0A (LISTEN).
        string local = $"0100007F:{port:X4}";
        string inode = tcp.Stdout.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(f => f.Length > 9 && f[1] == local && f[3] == "0A")[9];
        Assert.Contains($"socket:[{inode}]", links.Stdout, StringComparison.Ordinal);
        return inode;
    }

    private static string[] WaitForInstances(string path, int count)
    {
        var clock = Stopwatch.StartNew();
        string[] lines = [];
        while (clock.Elapsed < Patience)
        {
            lines = File.Exists(path) ? File.ReadAllLines(path) : [];
            if (lines.Count(l => l == "---") >= count)
            {
                return lines;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"{path}: [{string.Join(" | ", lines)}]");
    }

    /// <summary>The unit's journal under PID 1; empty for the user manager (its journal is not the unit's to read here).</summary>
    private string Journal(string unit)
    {
        if (manager is not Pid1Container pid1)
        {
            return "";
        }

        pid1.Journalctl("--sync").EnsureSuccess("journalctl --sync");
        return pid1.Journalctl("-u", unit, "-o", "cat").Stdout;
    }
}

[Collection(SystemdCollection.Name)]
public sealed class FdStoreTestsUserManager(SystemdUserManager manager) : FdStoreTests(manager);

[Collection(Pid1Systemd252Collection.Name)]
public sealed class FdStoreTests252(Systemd252Pid1 manager) : FdStoreTests(manager);

[Collection(Pid1Systemd257Collection.Name)]
public sealed class FdStoreTests257(Systemd257Pid1 manager) : FdStoreTests(manager);

[Collection(Pid1Systemd262Collection.Name)]
public sealed class FdStoreTests262(Systemd262Pid1 manager) : FdStoreTests(manager);
