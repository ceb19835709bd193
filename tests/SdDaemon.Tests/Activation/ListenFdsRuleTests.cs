using Xunit;
using SdDaemon.Environ;

namespace SdDaemon.Tests.Activation;

/// <summary>The LISTEN_* table of spec L-1..L-8, against a fake environment and fake descriptors.</summary>
public sealed class ListenFdsRuleTests
{
    private const int Pid = 4242;

    private static ListenFdsResult Get(DictionaryEnvironment env, FakeActivationSystem? system = null, bool unset = false) =>
        ListenFds.Get(env, system ?? new FakeActivationSystem { ProcessId = Pid }, unset, ListenFds.Start);

    private static DictionaryEnvironment Env(string? pid, string? fds, string? names = null, string? pidFdId = null) =>
        new(("LISTEN_PID", pid), ("LISTEN_FDS", fds), ("LISTEN_FDNAMES", names), ("LISTEN_PIDFDID", pidFdId));

    [Fact]
    public void L1_first_descriptor_is_3_and_they_are_consecutive()
    {
        Assert.Equal(3, ListenFds.Start);
        ListenFdsResult r = Get(Env("4242", "3"));
        Assert.Equal(ActivationOutcome.Activated, r.Outcome);
        Assert.Equal([3, 4, 5], r.Select(f => f.Fd));
    }

    [Fact]
    public void L2_LISTEN_PID_unset_is_not_activated()
    {
        ListenFdsResult r = Get(Env(null, "2"));
        Assert.Equal(ActivationOutcome.NotActivated, r.Outcome);
        Assert.Empty(r);
        Assert.Equal(0, r.Errno);
    }

    [Theory]
    [InlineData("abc", 22)]
    [InlineData("", 22)]
    [InlineData("42x", 22)]
    [InlineData("0", 34)]
    [InlineData("-1", 34)]
    [InlineData("-4242", 34)]
    [InlineData("2147483648", 34)]
    [InlineData("99999999999999999999999", 34)]
    public void L2_malformed_LISTEN_PID_is_a_specific_error(string pid, int errno)
    {
        ListenFdsResult r = Get(Env(pid, "1"));
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(errno, r.Errno);
        Assert.Contains("LISTEN_PID", r.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(r);
    }

    [Theory]
    [InlineData("4242")]
    [InlineData(" 4242")]
    [InlineData("+4242")]
    [InlineData("0x1092")]
    [InlineData("010222")]
    public void L2_N5_LISTEN_PID_is_parsed_like_safe_atoi(string pid)
    {
        Assert.Equal(ActivationOutcome.Activated, Get(Env(pid, "1")).Outcome);
    }

    [Fact]
    public void L2_another_process_pid_is_not_activated_and_not_an_error()
    {
        var system = new FakeActivationSystem { ProcessId = Pid };
        ListenFdsResult r = Get(Env("4243", "2"), system);
        Assert.Equal(ActivationOutcome.NotActivated, r.Outcome);
        Assert.Empty(system.CloseOnExec); // nothing touched for another process's descriptors
    }

    [Fact]
    public void L3_matching_LISTEN_PIDFDID_is_activated()
    {
        Assert.Equal(ActivationOutcome.Activated, Get(Env("4242", "1", pidFdId: "777")).Outcome);
    }

    [Fact]
    public void L3_different_LISTEN_PIDFDID_is_not_activated()
    {
        Assert.Equal(ActivationOutcome.NotActivated, Get(Env("4242", "1", pidFdId: "778")).Outcome);
    }

    [Theory]
    [InlineData(95)] // EOPNOTSUPP: pidfd_open works but the kernel has no pidfs (before Linux 6.9)
    [InlineData(38)] // ENOSYS: no pidfd_open at all (before Linux 5.3, or a seccomp filter that says so)
    [InlineData(25)] // ENOTTY: the other "not supported" answer libsystemd counts as such
    public void L3_a_kernel_without_pidfs_skips_the_check(int errno)
    {
        var system = new FakeActivationSystem { ProcessId = Pid, PidFdIdErrno = errno };
        Assert.Equal(ActivationOutcome.Activated, Get(Env("4242", "1", pidFdId: "778"), system).Outcome);
    }

    [Theory]
    [InlineData(24)] // EMFILE: out of descriptors for the pidfd
    [InlineData(23)] // ENFILE
    [InlineData(12)] // ENOMEM
    [InlineData(1)]  // EPERM
    public void L3_any_other_error_reading_the_own_pidfd_id_is_a_failure_with_that_errno_not_a_skipped_check(int errno)
    {
        var system = new FakeActivationSystem { ProcessId = Pid, PidFdIdErrno = errno };
        ListenFdsResult r = Get(Env("4242", "1", pidFdId: "778"), system);
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(errno, r.Errno);
        Assert.Contains("LISTEN_PIDFDID=778", r.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(r);
        Assert.Empty(system.CloseOnExec); // nothing claimed for descriptors that may be another process's
    }

    [Theory]
    [InlineData("x", 22)]
    [InlineData("-1", 34)]
    [InlineData("18446744073709551616", 34)]
    public void L3_malformed_LISTEN_PIDFDID_is_an_error(string id, int errno)
    {
        ListenFdsResult r = Get(Env("4242", "1", pidFdId: id));
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(errno, r.Errno);
    }

    [Fact]
    public void L4_LISTEN_FDS_unset_is_not_activated()
    {
        Assert.Equal(ActivationOutcome.NotActivated, Get(Env("4242", null)).Outcome);
    }

    [Theory]
    [InlineData("0", 22)]
    [InlineData("-1", 22)]
    [InlineData("-0", 22)]
    [InlineData("2147483644", 9)] // INT_MAX-3 is in range; the fake says fd 5 is not open
    [InlineData("2147483645", 22)] // INT_MAX-2: more than INT_MAX-3
    [InlineData("2147483648", 34)]
    [InlineData("two", 22)]
    [InlineData("", 22)]
    [InlineData("1 ", 22)]
    public void L4_malformed_or_out_of_range_LISTEN_FDS_is_a_specific_error(string fds, int errno)
    {
        var system = new FakeActivationSystem { ProcessId = Pid, Closed = [5] };
        ListenFdsResult r = Get(Env("4242", fds), system);
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(errno, r.Errno);
    }

    [Fact]
    public void L5_every_passed_descriptor_is_made_close_on_exec()
    {
        var system = new FakeActivationSystem { ProcessId = Pid };
        _ = Get(Env("4242", "4"), system);
        Assert.Equal([3, 4, 5, 6], system.CloseOnExec);
    }

    [Fact]
    public void L5_a_passed_descriptor_that_is_not_open_is_EBADF()
    {
        var system = new FakeActivationSystem { ProcessId = Pid, Closed = [4] };
        ListenFdsResult r = Get(Env("4242", "3"), system);
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(9, r.Errno);
        Assert.Contains("4", r.ErrorMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("activated", "4242", "1", "a", "777")]
    [InlineData("not activated: no pid", null, "1", "a", null)]
    [InlineData("not activated: other pid", "1", "1", "a", null)]
    [InlineData("error: pid", "x", "1", "a", null)]
    [InlineData("error: names", "4242", "1", "a\\", null)]
    [InlineData("error: count", "4242", "0", null, null)]
    [InlineData("error: name count", "4242", "2", "a", null)]
    public void L6_unsetEnvironment_removes_the_four_variables_on_every_path(string path, string? pid, string? fds, string? names, string? pidFdId)
    {
        DictionaryEnvironment env = Env(pid, fds, names, pidFdId);
        env.Values["OTHER"] = "kept";
        _ = Get(env, unset: true);
        Assert.True(env.Values.Keys.SequenceEqual(["OTHER"]), path);
        Assert.Equal(["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID"], env.Removed);
    }

    [Fact]
    public void L6_without_unsetEnvironment_nothing_is_removed()
    {
        DictionaryEnvironment env = Env("4242", "1", "a");
        _ = Get(env);
        Assert.Empty(env.Removed);
        Assert.Equal(3, env.Values.Count);
    }

    [Theory]
    [InlineData("a::b", new[] { "a", "", "b" })]
    [InlineData("a:", new[] { "a", "" })]
    [InlineData(":", new[] { "", "" })]
    [InlineData("", new[] { "" })]
    [InlineData("web", new[] { "web" })]
    [InlineData("a\\:b", new[] { "a:b" })]
    [InlineData("a\\\\:b", new[] { "a\\", "b" })]
    [InlineData("\\x41", new[] { "x41" })]
    [InlineData("'a:b'", new[] { "'a", "b'" })]
    [InlineData("\"a\"", new[] { "\"a\"" })]
    [InlineData("a b:c", new[] { "a b", "c" })]
    public void L7_names_split_on_every_colon_with_backslash_escapes(string names, string[] expected)
    {
        Assert.Equal(expected, ListenFds.SplitNames(names));
        ListenFdsResult r = Get(Env("4242", expected.Length.ToString(), names));
        Assert.Equal(ActivationOutcome.Activated, r.Outcome);
        Assert.Equal(expected, r.Names);
    }

    [Fact]
    public void L7_trailing_lone_backslash_is_EINVAL_and_wins_over_the_pid_check()
    {
        Assert.Null(ListenFds.SplitNames("a\\"));
        // Parsed before the pid: even LISTEN_PID unset, garbage, or another process's gives EINVAL.
        foreach (string? pid in new[] { "4242", null, "x", "1" })
        {
            ListenFdsResult r = Get(Env(pid, "1", "a\\"));
            Assert.Equal(ActivationOutcome.Failed, r.Outcome);
            Assert.Equal(22, r.Errno);
        }
    }

    [Theory]
    [InlineData("2", "a")]
    [InlineData("1", "a:b")]
    [InlineData("1", ":")]
    public void L7_name_count_differing_from_LISTEN_FDS_is_EINVAL(string fds, string names)
    {
        ListenFdsResult r = Get(Env("4242", fds, names));
        Assert.Equal(ActivationOutcome.Failed, r.Outcome);
        Assert.Equal(22, r.Errno);
    }

    [Fact]
    public void L7_absent_names_are_unknown()
    {
        ListenFdsResult r = Get(Env("4242", "2"));
        Assert.Equal(["unknown", "unknown"], r.Names);
        Assert.Equal(ListenFds.UnknownName, r[0].Name);
    }

    [Fact]
    public void L8_lookup_by_name_tells_socket_unit_fds_from_stored_ones()
    {
        ListenFdsResult r = Get(Env("4242", "4", "web:web:stored:connection"));
        Assert.Equal([3, 4], r.WithName("web").Select(f => f.Fd));
        Assert.Equal(3, r.First("web")!.Fd);
        Assert.Equal(5, r.First(ListenFds.StoredName)!.Fd);
        Assert.Equal(6, r.First(ListenFds.ConnectionName)!.Fd);
        Assert.Null(r.First("nope"));
        Assert.Empty(r.WithName("nope"));
    }

    [Fact]
    public void Failed_result_throws_only_when_asked()
    {
        ListenFdsResult r = Get(Env("4242", "0"));
        SdDaemonException e = Assert.Throws<SdDaemonException>(() => r.ThrowIfFailed());
        Assert.Equal(22, e.Errno);
        Assert.Contains("LISTEN_FDS", e.Message, StringComparison.Ordinal);
        ListenFdsResult ok = Get(Env("4242", "1"));
        Assert.Same(ok, ok.ThrowIfFailed());
    }
}
