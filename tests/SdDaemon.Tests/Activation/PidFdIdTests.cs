using Xunit;

namespace SdDaemon.Tests.Activation;

/// <summary>Spec L-3 on this kernel: our own pidfd inode id, as systemd 259 writes it in LISTEN_PIDFDID.</summary>
public sealed class PidFdIdTests
{
    [Fact]
    public void L3_own_pidfd_inode_id_is_stable_where_the_kernel_has_pidfs_and_EOPNOTSUPP_elsewhere()
    {
        int error = NativeActivationSystem.Instance.OwnPidFdInodeId(out ulong first);
        if (error != 0)
        {
            Assert.Equal(95, error); // EOPNOTSUPP: no pidfs (before Linux 6.9); the check is skipped then
            return;
        }

        Assert.NotEqual(0UL, first);
        Assert.Equal(0, NativeActivationSystem.Instance.OwnPidFdInodeId(out ulong second));
        Assert.Equal(first, second); // one inode per process on pidfs, whichever pidfd is opened

        // What another process sees for our pid (what the manager writes): python's pidfd_open + fstat.
        if (File.Exists("/usr/bin/python3"))
        {
            var info = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3",
                ["-c", $"import os; print(os.fstat(os.pidfd_open({Environment.ProcessId})).st_ino)"]) { RedirectStandardOutput = true };
            using var child = System.Diagnostics.Process.Start(info)!;
            string seen = child.StandardOutput.ReadToEnd().Trim();
            child.WaitForExit();
            Assert.Equal(first.ToString(), seen);
        }
    }

    [Fact]
    public void L3_real_LISTEN_PIDFDID_of_this_process_is_ours_and_another_is_not()
    {
        if (NativeActivationSystem.Instance.OwnPidFdInodeId(out ulong own) != 0)
        {
            return; // no pidfs: covered by the fake-system tests
        }

        var system = new OwnPidNoFdSystem();
        DictionaryEnvironment Env(ulong id) => new(
            ("LISTEN_PID", Environment.ProcessId.ToString()), ("LISTEN_FDS", "1"), ("LISTEN_PIDFDID", id.ToString()));
        Assert.Equal(ActivationOutcome.Activated, ListenFds.Get(Env(own), system, false, ListenFds.Start).Outcome);
        Assert.Equal(ActivationOutcome.NotActivated, ListenFds.Get(Env(own + 1), system, false, ListenFds.Start).Outcome);
    }

    /// <summary>The real pid and pidfd id, but no claim of the runtime's own fd 3.</summary>
    private sealed class OwnPidNoFdSystem : IActivationSystem
    {
        public int ProcessId => Environment.ProcessId;

        public int ClaimPassed(int fd) => 0;

        public int OwnPidFdInodeId(out ulong id) => NativeActivationSystem.Instance.OwnPidFdInodeId(out id);
    }
}
