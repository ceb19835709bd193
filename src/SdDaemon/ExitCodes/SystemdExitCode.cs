namespace SdDaemon;

/// <summary>
/// The exit codes systemd itself uses (200-246) when it cannot start a service's process: what a
/// unit's ExecMainStatus= and "status=NNN/NAME" mean (spec X-1; see
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5), Process Exit Codes</see>).
/// A program should not exit with these itself; they are here to interpret what the manager reports.
/// Each member says the systemd version that introduced it where that was verified, and otherwise
/// what is known. The values are those of systemd's current src/shared/exit-status.h.
/// </summary>
public enum SystemdExitCode
{
    /// <summary>EXIT_CHDIR: changing to the WorkingDirectory= failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    ChDir = 200,

    /// <summary>EXIT_NICE: setting the scheduling priority (Nice=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Nice = 201,

    /// <summary>EXIT_FDS: closing unwanted file descriptors or adjusting passed ones failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Fds = 202,

    /// <summary>EXIT_EXEC: the actual process execution failed (execve(2); the binary is missing or not executable). In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Exec = 203,

    /// <summary>EXIT_MEMORY: out of memory while starting the process. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Memory = 204,

    /// <summary>EXIT_LIMITS: setting the resource limits (LimitCPU= and friends) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Limits = 205,

    /// <summary>EXIT_OOM_ADJUST: setting the OOM score adjustment (OOMScoreAdjust=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    OomAdjust = 206,

    /// <summary>EXIT_SIGNAL_MASK: setting the signal mask failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    SignalMask = 207,

    /// <summary>EXIT_STDIN: setting up standard input failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Stdin = 208,

    /// <summary>EXIT_STDOUT: setting up standard output failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Stdout = 209,

    /// <summary>EXIT_CHROOT: changing the root directory (RootDirectory=/RootImage=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    ChRoot = 210,

    /// <summary>EXIT_IOPRIO: setting the I/O scheduling properties (IOSchedulingClass=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    IOPriority = 211,

    /// <summary>EXIT_TIMERSLACK: setting the timer slack (TimerSlackNSec=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    TimerSlack = 212,

    /// <summary>EXIT_SECUREBITS: setting the process security bits (SecureBits=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    SecureBits = 213,

    /// <summary>EXIT_SETSCHEDULER: setting the CPU scheduling (CPUSchedulingPolicy=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    SetScheduler = 214,

    /// <summary>EXIT_CPUAFFINITY: setting the CPU affinity (CPUAffinity=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    CpuAffinity = 215,

    /// <summary>EXIT_GROUP: setting the group (Group=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Group = 216,

    /// <summary>EXIT_USER: setting the user (User=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    User = 217,

    /// <summary>EXIT_CAPABILITIES: dropping capabilities (CapabilityBoundingSet=, AmbientCapabilities=) failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Capabilities = 218,

    /// <summary>EXIT_CGROUP: setting up the control group failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    CGroup = 219,

    /// <summary>EXIT_SETSID: creating a new session failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    SetSid = 220,

    /// <summary>EXIT_CONFIRM: execution was cancelled by the user (systemd.confirm_spawn). In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Confirm = 221,

    /// <summary>EXIT_STDERR: setting up standard error failed. In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Stderr = 222,

    /// <summary>EXIT_PAM: the PAM session (PAMName=) could not be set up. (223 is reserved: it was tcpwrap's and is not reused.) In systemd's exit code list since its early releases; the first release that had it was not verified against systemd's sources here (a table derived from release tags says v8).</summary>
    Pam = 224,

    /// <summary>EXIT_NETWORK: setting up the private network (PrivateNetwork=) failed. The first release that had it was not verified against systemd's sources here.</summary>
    Network = 225,

    /// <summary>EXIT_NAMESPACE: setting up the mount namespace (ReadOnlyPaths=, PrivateTmp=...) failed. The first release that had it was not verified against systemd's sources here (a table derived from release tags says v38).</summary>
    Namespace = 226,

    /// <summary>EXIT_NO_NEW_PRIVILEGES: disabling new privileges (NoNewPrivileges=) failed. Introduced in systemd 187.</summary>
    NoNewPrivileges = 227,

    /// <summary>EXIT_SECCOMP: applying the system call filter (SystemCallFilter=) failed. Introduced in systemd 187.</summary>
    Seccomp = 228,

    /// <summary>EXIT_SELINUX_CONTEXT: setting the SELinux context (SELinuxContext=) failed. Introduced in systemd 209.</summary>
    SelinuxContext = 229,

    /// <summary>EXIT_PERSONALITY: setting the execution domain (Personality=) failed. Introduced in systemd 209.</summary>
    Personality = 230,

    /// <summary>EXIT_APPARMOR_PROFILE: switching to the AppArmor profile (AppArmorProfile=) failed. Introduced in systemd 210.</summary>
    AppArmorProfile = 231,

    /// <summary>EXIT_ADDRESS_FAMILIES: restricting the socket address families (RestrictAddressFamilies=) failed. Introduced in systemd 211.</summary>
    AddressFamilies = 232,

    /// <summary>EXIT_RUNTIME_DIRECTORY: creating the runtime directory (RuntimeDirectory=) failed. Introduced in systemd 211.</summary>
    RuntimeDirectory = 233,

    /// <summary>EXIT_CHOWN: changing the owner of the socket (SocketUser=, SocketGroup=) failed. (234 is reserved: kdbus used it, as EXIT_MAKE_STARTER, and it is not reused.) Introduced in systemd 214.</summary>
    Chown = 235,

    /// <summary>EXIT_SMACK_PROCESS_LABEL: setting the SMACK label (SmackProcessLabel=) failed. The number changed:
    /// in the kdbus-era releases 236 was EXIT_BUS_ENDPOINT and SMACK_PROCESS_LABEL was 237; once kdbus
    /// support was removed, SMACK_PROCESS_LABEL took 236 (its value in current systemd, and in systemd 252
    /// as installed here). The releases of the name and of the renumbering were not verified here, so
    /// an old manager's 236 may mean BUS_ENDPOINT.</summary>
    SmackProcessLabel = 236,

    /// <summary>EXIT_KEYRING: setting up the kernel keyring (KeyringMode=) failed. In the kdbus-era releases
    /// 237 meant SMACK_PROCESS_LABEL (see <see cref="SmackProcessLabel"/>); KEYRING has it in current systemd
    /// and in systemd 252. The release that introduced KEYRING was not verified here.</summary>
    Keyring = 237,

    /// <summary>EXIT_STATE_DIRECTORY: setting up StateDirectory= failed. Introduced in systemd 235.</summary>
    StateDirectory = 238,

    /// <summary>EXIT_CACHE_DIRECTORY: setting up CacheDirectory= failed. Introduced in systemd 235.</summary>
    CacheDirectory = 239,

    /// <summary>EXIT_LOGS_DIRECTORY: setting up LogsDirectory= failed. Introduced in systemd 235.</summary>
    LogsDirectory = 240,

    /// <summary>EXIT_CONFIGURATION_DIRECTORY: setting up ConfigurationDirectory= failed. Introduced in systemd 235.</summary>
    ConfigurationDirectory = 241,

    /// <summary>EXIT_NUMA_POLICY: setting the NUMA policy (NUMAPolicy=, NUMAMask=) failed. Introduced in systemd 243.</summary>
    NumaPolicy = 242,

    /// <summary>EXIT_CREDENTIALS: setting up the service's credentials (LoadCredential=, SetCredential=) failed. Introduced in systemd 247.</summary>
    Credentials = 243,

    /// <summary>EXIT_BPF: applying BPF restrictions (RestrictFileSystems= and similar) failed. The value
    /// is systemd's src/shared/exit-status.h (the man page systemd.exec(5) of the same tree lists it as 245,
    /// which does not match the header the manager uses). Not in systemd 252 (its exit status table ends at
    /// CREDENTIALS); the release that introduced it was not verified here.</summary>
    Bpf = 244,

    /// <summary>EXIT_KSM: setting up kernel samepage merging (MemoryKSM=) failed. The value is systemd's
    /// src/shared/exit-status.h; not in systemd 252; the release that introduced it was not verified here.</summary>
    Ksm = 245,

    /// <summary>EXIT_LANDLOCK_CONFIG: applying the Landlock configuration failed. The value is systemd's
    /// current src/shared/exit-status.h; not in systemd 252; the release that introduced it was not
    /// verified here (one third-party copy of the table has EXIT_MEMORY_THP at 246 instead, so treat 246
    /// from a manager of unknown version with care).</summary>
    LandlockConfig = 246,
}
