using System.Reflection;
using System.Runtime.Versioning;
using SdDaemon.DBus;
using SdDaemon.Hosting;
using SdDaemon.Logging;
using SdDaemon.Testing;
using Xunit;

namespace SdDaemon.Tests.Support;

/// <summary>
/// Which public APIs say "Linux only" (issue 12): an annotated API gives every caller a CA1416
/// warning, which breaks a build with warnings as errors, so only what really needs Linux carries
/// [SupportedOSPlatform("linux")]. Notify, barrier, the watchdog, listen fds, the credential
/// shortcuts, sd_booted and the host's notifier and sockets answer "not listening", "none" or "no"
/// elsewhere and carry none. A change to this list is a decision: make it here and in README's
/// "Platforms" section together.
/// </summary>
public sealed class PlatformAnnotationTests
{
    private static readonly string[] s_linuxOnly =
    [
        "T:SdDaemon.CredentialDirectory",          // statx, open, pread on $CREDENTIALS_DIRECTORY
        "T:SdDaemon.Daemon",                       // setsid, pidfd, prctl, chroot: the classic double fork
        "T:SdDaemon.DaemonControl",                // pidfd_open, pidfd_send_signal on a PID file's process
        "T:SdDaemon.DescriptorCheck",              // sd_is_*: statx, getsockopt, mq_getattr with Linux constants
        "T:SdDaemon.Hosting.SystemdCredentialsConfigurationProvider", // CredentialDirectory
        "M:SdDaemon.Logging.StderrLogger.ForFileDescriptor", // bounded write(2) to any descriptor number, Linux fcntl/poll constants
        "T:SdDaemon.MemoryPressureWatch",          // PSI triggers in cgroupfs, statfs, poll
        "T:SdDaemon.Testing.ActivatedProcess",     // waitpid, kill on the launched process
        "T:SdDaemon.Testing.ActivationLauncher",   // posix_spawn with descriptors moved to 3...
        "T:SdDaemon.Testing.NotifyReceiver",       // SO_PASSCRED, SCM_CREDENTIALS on an AF_UNIX datagram socket
        "T:SdDaemon.Varlink.VarlinkListener",      // statx of the runtime directory, geteuid, /run/varlink/registry
    ];

    [Fact]
    public void Only_what_needs_Linux_is_annotated_linux_only()
    {
        Assembly[] packages =
        [
            typeof(Notification).Assembly,
            typeof(StderrLogger).Assembly,
            typeof(ISdDaemonNotifier).Assembly,
            typeof(NotifyReceiver).Assembly,
            typeof(BusInterface).Assembly,
        ];

        string[] annotated = packages
            .SelectMany(a => a.GetExportedTypes())
            .SelectMany(AnnotatedApis)
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToArray();

        Assert.Equal(s_linuxOnly.Order(StringComparer.Ordinal), annotated);
    }

    [Fact]
    public void The_APIs_a_minimal_service_calls_are_not_annotated()
    {
        // The calls of README's first snippets and of a worker: none may warn CA1416.
        MemberInfo[] everyday =
        [
            typeof(Notification).GetMethod(nameof(Notification.Send))!,
            typeof(Notification).GetMethod(nameof(Notification.Barrier))!,
            typeof(NotifyChannel).GetMethod(nameof(NotifyChannel.Send))!,
            typeof(SdDaemon.Watchdog).GetMethod(nameof(SdDaemon.Watchdog.StartKeepAliveIfEnabled))!,
            typeof(ListenFds).GetMethod(nameof(ListenFds.Get), [typeof(bool)])!,
            typeof(ListenFd).GetMethod(nameof(ListenFd.ToSocket))!,
            typeof(ServiceManager).GetMethod(nameof(ServiceManager.CheckBooted), Type.EmptyTypes)!,
            typeof(ISdDaemonNotifier).GetMethod(nameof(ISdDaemonNotifier.SetStatus))!,
            typeof(ISdDaemonSockets).GetMethod(nameof(ISdDaemonSockets.GetOrBind))!,
            typeof(WatchdogKeepAlive),
        ];

        Assert.All(everyday, m => Assert.Null(m.GetCustomAttribute<SupportedOSPlatformAttribute>()));
    }

    private static IEnumerable<string> AnnotatedApis(Type type)
    {
        if (IsLinuxOnly(type))
        {
            yield return $"T:{type.FullName}";
            yield break; // its members inherit it
        }

        const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                      BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (MemberInfo member in type.GetMembers(Declared))
        {
            if (IsVisible(member) && IsLinuxOnly(member))
            {
                yield return $"M:{type.FullName}.{member.Name}";
            }
        }
    }

    private static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly,
        PropertyInfo p => p.GetMethod is { } g && IsVisible(g) || p.SetMethod is { } s && IsVisible(s),
        EventInfo e => e.AddMethod is { } a && IsVisible(a),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        _ => false, // nested types are exported types of their own
    };

    private static bool IsLinuxOnly(MemberInfo member) =>
        member.GetCustomAttributes<SupportedOSPlatformAttribute>().Any(a => a.PlatformName == "linux");
}
