namespace SdDaemon;

/// <summary>
/// The exit codes systemd itself uses (200-243) when it cannot start a service's process: what a
/// unit's ExecMainStatus= and "status=NNN/NAME" mean (spec X-1; see
/// <see href="https://www.freedesktop.org/software/systemd/man/systemd.exec.html#Process%20Exit%20Codes">systemd.exec(5), Process Exit Codes</see>).
/// A program should not exit with these itself; they are here to interpret what the manager reports.
/// Each member says the systemd version that introduced it.
/// </summary>
public enum SystemdExitCode
{
    /// <summary>EXIT_CHDIR: changing to the WorkingDirectory= failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    ChDir = 200,

    /// <summary>EXIT_NICE: setting the scheduling priority (Nice=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Nice = 201,

    /// <summary>EXIT_FDS: closing unwanted file descriptors or adjusting passed ones failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Fds = 202,

    /// <summary>EXIT_EXEC: the actual process execution failed (execve(2); the binary is missing or not executable). Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Exec = 203,

    /// <summary>EXIT_MEMORY: out of memory while starting the process. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Memory = 204,

    /// <summary>EXIT_LIMITS: setting the resource limits (LimitCPU= and friends) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Limits = 205,

    /// <summary>EXIT_OOM_ADJUST: setting the OOM score adjustment (OOMScoreAdjust=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    OomAdjust = 206,

    /// <summary>EXIT_SIGNAL_MASK: setting the signal mask failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    SignalMask = 207,

    /// <summary>EXIT_STDIN: setting up standard input failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Stdin = 208,

    /// <summary>EXIT_STDOUT: setting up standard output failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Stdout = 209,

    /// <summary>EXIT_CHROOT: changing the root directory (RootDirectory=/RootImage=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    ChRoot = 210,

    /// <summary>EXIT_IOPRIO: setting the I/O scheduling properties (IOSchedulingClass=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    IOPriority = 211,

    /// <summary>EXIT_TIMERSLACK: setting the timer slack (TimerSlackNSec=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    TimerSlack = 212,

    /// <summary>EXIT_SECUREBITS: setting the process security bits (SecureBits=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    SecureBits = 213,

    /// <summary>EXIT_SETSCHEDULER: setting the CPU scheduling (CPUSchedulingPolicy=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    SetScheduler = 214,

    /// <summary>EXIT_CPUAFFINITY: setting the CPU affinity (CPUAffinity=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    CpuAffinity = 215,

    /// <summary>EXIT_GROUP: setting the group (Group=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Group = 216,

    /// <summary>EXIT_USER: setting the user (User=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    User = 217,

    /// <summary>EXIT_CAPABILITIES: dropping capabilities (CapabilityBoundingSet=, AmbientCapabilities=) failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Capabilities = 218,

    /// <summary>EXIT_CGROUP: setting up the control group failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    CGroup = 219,

    /// <summary>EXIT_SETSID: creating a new session failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    SetSid = 220,

    /// <summary>EXIT_CONFIRM: execution was cancelled by the user (systemd.confirm_spawn). Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Confirm = 221,

    /// <summary>EXIT_STDERR: setting up standard error failed. Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Stderr = 222,

    /// <summary>EXIT_PAM: the PAM session (PAMName=) could not be set up. (223 is reserved: it was tcpwrap, removed in systemd 212.) Introduced in systemd 1 (in the first published list of systemd's exit codes).</summary>
    Pam = 224,

    /// <summary>EXIT_NETWORK: setting up the private network (PrivateNetwork=) failed. Introduced in systemd 33.</summary>
    Network = 225,

    /// <summary>EXIT_NAMESPACE: setting up the mount namespace (ReadOnlyPaths=, PrivateTmp=...) failed. Introduced in systemd 33.</summary>
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

    /// <summary>EXIT_CHOWN: changing the owner of the socket (SocketUser=, SocketGroup=) failed. (234 is reserved: it was kdbus's.) Introduced in systemd 214.</summary>
    Chown = 235,

    /// <summary>EXIT_SMACK_PROCESS_LABEL: setting the SMACK label (SmackProcessLabel=) failed. Introduced in systemd 218.</summary>
    SmackProcessLabel = 236,

    /// <summary>EXIT_KEYRING: setting up the kernel keyring (KeyringMode=) failed. Introduced in systemd 233.</summary>
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
}
