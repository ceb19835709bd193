using System.Diagnostics;
using Xunit;

namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>
/// A real systemd 252 user manager, started once per test run (shared/spec/REAL-PEERS.md): in a
/// private mount namespace where /run/systemd/system exists, with its own XDG_RUNTIME_DIR, and
/// always stopped (SIGTERM: it stops its units and exits) when the run ends.
/// </summary>
public sealed class SystemdUserManager : IRealManager, IDisposable
{
    private readonly Process? _manager;
    private readonly Process? _userBus;

    public SystemdUserManager()
    {
        if (Peers.SystemdUnavailableReason is { } reason)
        {
            UnavailableReason = reason;
            return;
        }

        RuntimeDirectory = Directory.CreateTempSubdirectory("sdd-xdg-").FullName;
        File.SetUnixFileMode(RuntimeDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // The host key of LoadCredentialEncrypted= for this manager and for `systemd-creds encrypt`
        // run with ClientEnvironment: a secret of its own instead of the machine's
        // /var/lib/systemd/credential.secret ($SYSTEMD_CREDENTIAL_SECRET, systemd's ENVIRONMENT.md).
        File.WriteAllBytes(CredentialSecret, System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096));
        File.SetUnixFileMode(CredentialSecret, UnixFileMode.UserRead);
        var info = new ProcessStartInfo("/usr/bin/unshare")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (string argument in new[]
        {
            "-m", "--propagation", "private", "/bin/sh", "-c",
            // XDG_RUNTIME_DIR is made a shared mount, as /run/user/UID is on a booted system: the
            // manager (privileged here) mounts each unit's credentials in a child's mount namespace
            // onto $XDG_RUNTIME_DIR/credentials/UNIT and needs that mount to propagate back
            // (systemd 252 src/core/execute.c, setup_credentials, "(sd-mkdcreds)"); with private
            // propagation the service sees an empty $CREDENTIALS_DIRECTORY.
            "mount -t tmpfs tmpfs /run/systemd && mkdir -p /run/systemd/system"
            + " && mount --bind \"$XDG_RUNTIME_DIR\" \"$XDG_RUNTIME_DIR\" && mount --make-shared \"$XDG_RUNTIME_DIR\""
            + " && exec /usr/lib/systemd/systemd --user",
        })
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["XDG_RUNTIME_DIR"] = RuntimeDirectory;
        info.Environment["SYSTEMD_CREDENTIAL_SECRET"] = CredentialSecret;
        info.Environment.Remove("NOTIFY_SOCKET");
        info.Environment.Remove("DBUS_SESSION_BUS_ADDRESS");
        _userBus = StartUserBus();
        _manager = Process.Start(info)!;
        _manager.StandardInput.Close();
        _manager.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_log) { _log.Add(e.Data); } } };
        _manager.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_log) { _log.Add(e.Data); } } };
        _manager.BeginOutputReadLine();
        _manager.BeginErrorReadLine();

        // Ready when systemctl can talk to it through $XDG_RUNTIME_DIR/systemd/private.
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_manager.HasExited)
            {
                break;
            }

            if (File.Exists(Path.Combine(RuntimeDirectory, "systemd", "private"))
                && Systemctl("show", "-p", "Version", "--value").ExitCode == 0)
            {
                ManagerPid = _manager.Id;
                return;
            }

            Thread.Sleep(100);
        }

        UnavailableReason = $"systemd --user did not start: {Log}";
        Dispose();
    }

    private readonly List<string> _log = [];

    /// <summary>The user bus, $XDG_RUNTIME_DIR/bus, as on a booted system: a dbus-daemon started
    /// before the manager, which connects to it at start and watches BusName= of Type=dbus units.</summary>
    public string UserBusAddress => "unix:path=" + Path.Combine(RuntimeDirectory, "bus");

    private Process? StartUserBus()
    {
        if (!File.Exists(SessionBus.DaemonPath))
        {
            return null;
        }

        Process bus = SessionBus.Launch(RuntimeDirectory);
        // The address line comes once the socket listens.
        _ = bus.StandardOutput.ReadLineAsync().Wait(TimeSpan.FromSeconds(10));
        return bus;
    }

    /// <summary>Null when the manager runs; otherwise why not.</summary>
    public string? UnavailableReason { get; }

    public string RuntimeDirectory { get; } = "";

    /// <summary>The secret this manager's host-key credentials are encrypted with.</summary>
    public string CredentialSecret => Path.Combine(RuntimeDirectory, "credential.secret");

    public int ManagerPid { get; }

    public string Log
    {
        get
        {
            lock (_log)
            {
                return string.Join('\n', _log);
            }
        }
    }

    /// <summary>Fails the test (never skips) when the manager is not running.</summary>
    public void EnsureRunning() => Assert.True(UnavailableReason is null, $"real systemd manager: {UnavailableReason}");

    public Dictionary<string, string?> ClientEnvironment => new()
    {
        ["XDG_RUNTIME_DIR"] = RuntimeDirectory,
        ["SYSTEMD_CREDENTIAL_SECRET"] = CredentialSecret,
        ["DBUS_SESSION_BUS_ADDRESS"] = null,
        ["NOTIFY_SOCKET"] = null,
        ["SYSTEMD_PAGER"] = "",
        ["SYSTEMD_COLORS"] = "0",
    };

    public ProcessResult Systemctl(params string[] arguments) =>
        ProcessRunner.Run("/usr/bin/systemctl", ["--user", "--no-pager", .. arguments], ClientEnvironment);

    /// <summary>systemd-run --user with the given options, then the command.</summary>
    public ProcessResult SystemdRun(params string[] arguments) =>
        ProcessRunner.Run("/usr/bin/systemd-run", ["--user", "--no-block", .. arguments], ClientEnvironment);

    /// <summary>Runs a command inside the manager's mount namespace (where /run/systemd is its tmpfs).</summary>
    public ProcessResult InNamespace(params string[] command) =>
        ProcessRunner.Run("/usr/bin/nsenter", ["-m", "-t", ManagerPid.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command], ClientEnvironment);

    public string Name => "systemd 252 user manager";

    public Dictionary<string, string> Show(string unit, params string[] properties) =>
        RealManager.ParseShow(Systemctl(["show", unit, .. properties.SelectMany(p => new[] { "-p", p })]).EnsureSuccess("systemctl show").Stdout);

    public string Property(string unit, string property) => Show(unit, property).GetValueOrDefault(property, "");

    public string WaitForProperty(string unit, string property, string expected, TimeSpan timeout) =>
        RealManager.WaitForProperty(this, unit, property, expected, timeout);

    public int ManagerPidSeenByServices => ManagerPid;

    /// <summary>The manager's namespace shares the machine's /tmp: a directory below one temp
    /// directory of this manager's, removed when it stops.</summary>
    public string CreateSharedDirectory(string prefix) => RealManager.CreateSharedDirectory(_sharedRoot.Value, prefix);

    private readonly Lazy<string> _sharedRoot = new(() => RealManager.CreateSharedDirectory(null, "sdd-user-shared-"));

    /// <summary>Stops a unit and clears its failed state, ignoring errors (cleanup).</summary>
    public void Cleanup(string unit)
    {
        Systemctl("stop", unit);
        Systemctl("reset-failed", unit);
    }

    public void Dispose()
    {
        if (_manager is { HasExited: false })
        {
            // SIGTERM: the manager stops its units and exits; nothing else on the machine is touched.
            _ = ProcessRunner.Run("/bin/kill", ["-TERM", _manager.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            if (!_manager.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _manager.Kill(entireProcessTree: true);
            }
        }

        _manager?.Dispose();
        if (_userBus is { HasExited: false })
        {
            _userBus.Kill();
            _userBus.WaitForExit(TimeSpan.FromSeconds(10));
        }

        _userBus?.Dispose();
        try
        {
            if (RuntimeDirectory.Length > 0)
            {
                Directory.Delete(RuntimeDirectory, recursive: true);
            }

            if (_sharedRoot.IsValueCreated)
            {
                Directory.Delete(_sharedRoot.Value, recursive: true);
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

/// <summary>The tests that use the real manager, one at a time, sharing one manager and (started on
/// first use) one journald in its namespace: a second journald would race the first for its sockets.</summary>
[CollectionDefinition(Name)]
public sealed class SystemdCollection : ICollectionFixture<SystemdUserManager>, ICollectionFixture<Logging.JournaldInNamespace>
{
    public const string Name = "real systemd user manager";
}
