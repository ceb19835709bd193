using System.Globalization;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace SdDaemon.IntegrationTests.ServiceEnvironment;

/// <summary>
/// A real kernel PSI event through the manager's MemoryPressureWatch= (systemd 262 as PID 1) to
/// the host's handler (spec M-1, M-3, M-4). The container's cgroup v2 tree has no memory
/// controller here (the host is hybrid: memory is bound to the cgroup v1 hierarchy), so no
/// MemoryHigh= can make the unit stall. But PSI counts a task's memory stalls in its cgroup v2
/// cgroup whatever causes them: the test puts one process of the unit (a page-cache hog) into a
/// small cgroup v1 memory cgroup of the host, and its reclaim stalls show in the unit's own
/// memory.pressure, where the manager's trigger ("some 200000 2000000") fires.
/// </summary>
[Collection(Pid1Systemd262Collection.Name)]
public sealed class RealMemoryPressureTests262(Systemd262Pid1 pid1, ITestOutputHelper output)
{
    private const string HostMemoryV1 = "/sys/fs/cgroup/memory";

    private static string DllPath => Path.Combine(AppContext.BaseDirectory, "SdDaemon.EnvironmentDaemon.dll");

    [HybridMemoryFact]
    public void A_real_memory_stall_in_the_units_cgroup_reaches_the_hosts_handler()
    {
        pid1.EnsureRunning();
        Assert.True(File.Exists(Path.Combine(HostMemoryV1, "memory.limit_in_bytes")), $"no cgroup v1 memory hierarchy at {HostMemoryV1}: this host is not hybrid, and this test's way to make a real stall needs one");
        string id = Guid.NewGuid().ToString("N")[..8];
        string unit = $"sdd-psi-{id}.service";
        string work = Directory.CreateDirectory(Path.Combine(pid1.ScratchDirectory, "psi-" + id)).FullName;
        File.SetUnixFileMode(work, (UnixFileMode)0x1FF);
        string report = Path.Combine(work, "report");
        string hog = Path.Combine(work, "hog.sh");
        string go = Path.Combine(work, "go");
        // Waits for the test, then writes and reads back 96 MiB again and again: with 16 MiB
        // allowed, every pass reclaims and refaults page cache (memory stalls, PSI "some").
        File.WriteAllText(hog, $"""
            while [ ! -e {go} ]; do sleep 0.1; done
            while :; do dd if=/dev/zero of={work}/data bs=1M count=96 status=none; cat {work}/data > /dev/null; done

            """);
        pid1.InstallUnit(unit, $"""
            [Service]
            Type=notify
            NotifyAccess=main
            ExecStart=/bin/sh -c '/bin/sh {hog} & exec /usr/bin/dotnet {DllPath} {report}'
            """);
        string memcg = Path.Combine(HostMemoryV1, $"sdd-psi-{id}");
        try
        {
            pid1.Systemctl("start", "--no-block", unit).EnsureSuccess("start");
            Assert.Equal("active", pid1.WaitForProperty(unit, "ActiveState", "active", TimeSpan.FromSeconds(60)));
            string cgroupPressure = $"/sys/fs/cgroup/system.slice/{unit}/memory.pressure";
            Dictionary<string, string> values = ServiceEnvironmentTests.WaitForReport(report, r => r.ContainsKey("pressure"));
            Assert.Equal(cgroupPressure, values["pressure-watch"]);
            Assert.Equal("0", values["pressure"]);
            Assert.Contains($"Memory pressure: watching {cgroupPressure}", pid1.Journalctl("-u", unit, "-o", "cat").Stdout);

            // The hog, seen from the host; it moves alone (the .NET host stays unlimited).
            int hogPid = FindHostPid(["/bin/sh", hog]);
            Directory.CreateDirectory(memcg);
            File.WriteAllText(Path.Combine(memcg, "memory.limit_in_bytes"), (16 * 1024 * 1024).ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(Path.Combine(memcg, "cgroup.procs"), hogPid.ToString(CultureInfo.InvariantCulture));
            File.WriteAllText(go, "");

            values = ServiceEnvironmentTests.WaitForReport(report, r => r.GetValueOrDefault("pressure") is { } p && p != "0");
            Assert.NotEqual("0", values["pressure"]);
            // After the handlers, the host's own shedding (a compacting collection) is logged.
            Assert.True(
                SpinWait.SpinUntil(() => pid1.Journalctl("-u", unit, "-o", "cat").Stdout.Contains("Memory pressure: managed heap"), TimeSpan.FromSeconds(30)),
                "the host never logged its compacting collection");
            output.WriteLine($"{unit}: {pid1.Exec("cat", cgroupPressure).Stdout.Trim().ReplaceLineEndings(" | ")}; handler calls: {values["pressure"]}");
        }
        finally
        {
            pid1.Cleanup(unit);
            if (Directory.Exists(memcg))
            {
                // Empty once the unit's processes are gone.
                SpinWait.SpinUntil(() => File.ReadAllText(Path.Combine(memcg, "cgroup.procs")).Length == 0, TimeSpan.FromSeconds(10));
                Directory.Delete(memcg);
            }

            File.Delete(Path.Combine(work, "data"));
        }
    }

    /// <summary>The host pid of the one process whose command line is <paramref name="argv"/>.</summary>
    private static int FindHostPid(string[] argv)
    {
        string wanted = string.Join('\0', argv) + "\0";
        for (DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30); DateTime.UtcNow < deadline; Thread.Sleep(100))
        {
            foreach (string directory in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    if (int.TryParse(Path.GetFileName(directory), out int pid) && File.ReadAllText(Path.Combine(directory, "cmdline")) == wanted)
                    {
                        return pid;
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }

        Assert.Fail($"no process runs {string.Join(' ', argv)}");
        return 0;
    }
}

/// <summary>A PID 1 test that needs the host's cgroup v1 memory hierarchy (a hybrid host, as the
/// machines here): skipped with the reason elsewhere, but never when <see cref="Peers.Required"/>.</summary>
public sealed class HybridMemoryFactAttribute : FactAttribute
{
    public HybridMemoryFactAttribute()
    {
        if (Peers.Required)
        {
            return;
        }

        if (Peers.Pid1UnavailableReason is { } reason)
        {
            Skip = $"systemd as PID 1 unavailable: {reason}";
        }
        else if (!File.Exists("/sys/fs/cgroup/memory/memory.limit_in_bytes"))
        {
            Skip = "the host has no cgroup v1 memory hierarchy to limit a process of the container with";
        }
    }
}
