using System.Diagnostics;
using Xunit;

namespace SdDaemon.IntegrationTests.Infrastructure;

/// <summary>
/// A private dbus-daemon (the reference bus implementation) on a socket in a temporary directory,
/// with the session bus's permissive policy except that nobody may own names under
/// <see cref="ForbiddenPrefix"/> (to provoke AccessDenied). Killed on dispose.
/// </summary>
public sealed class SessionBus : IDisposable
{
    public const string DaemonPath = "/usr/bin/dbus-daemon";
    public const string BusctlPath = "/usr/bin/busctl";

    /// <summary>Names under this prefix are denied by the policy.</summary>
    public const string ForbiddenPrefix = "org.sddaemon.Forbidden";

    private readonly Process? _daemon;

    public SessionBus()
    {
        if ((Peers.ProgramMissing(DaemonPath) ?? Peers.ProgramMissing(BusctlPath)) is { } missing)
        {
            UnavailableReason = missing;
            return;
        }

        Directory = System.IO.Directory.CreateTempSubdirectory("sdd-bus-").FullName;
        string socket = Path.Combine(Directory, "bus");
        _daemon = Launch(Directory, $"""<deny own_prefix="{ForbiddenPrefix}"/>""");
        Task<string?> line = _daemon.StandardOutput.ReadLineAsync();
        if (!line.Wait(TimeSpan.FromSeconds(10)) || string.IsNullOrEmpty(line.Result))
        {
            UnavailableReason = $"dbus-daemon printed no address: {_daemon.StandardError.ReadToEnd()}";
            Dispose();
            return;
        }

        Address = line.Result.Trim();
        SocketAddress = "unix:path=" + socket;
    }

    /// <summary>Starts dbus-daemon with the session bus's permissive policy (plus <paramref name="extraPolicy"/>)
    /// listening on DIRECTORY/bus; it prints its address on standard output once the socket listens.</summary>
    internal static Process Launch(string directory, string extraPolicy = "")
    {
        string config = Path.Combine(directory, "bus.conf");
        File.WriteAllText(config, $"""
            <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
             "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
            <busconfig>
              <type>session</type>
              <listen>unix:path={Path.Combine(directory, "bus")}</listen>
              <auth>EXTERNAL</auth>
              <policy context="default">
                <allow send_destination="*" eavesdrop="true"/>
                <allow eavesdrop="true"/>
                <allow own="*"/>
                {extraPolicy}
              </policy>
            </busconfig>
            """);
        var info = new ProcessStartInfo(DaemonPath) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "--config-file", config, "--nofork", "--print-address" })
        {
            info.ArgumentList.Add(a);
        }

        Process daemon = Process.Start(info)!;
        daemon.StandardInput.Close();
        return daemon;
    }

    public string? UnavailableReason { get; }

    public string Directory { get; } = "";

    /// <summary>The address dbus-daemon printed (with its guid).</summary>
    public string Address { get; } = "";

    /// <summary>unix:path=... without the guid (what DBUS_SESSION_BUS_ADDRESS usually holds).</summary>
    public string SocketAddress { get; } = "";

    public void EnsureRunning() => Assert.True(UnavailableReason is null, $"dbus-daemon: {UnavailableReason}");

    /// <summary>busctl as an independent client of this bus.</summary>
    public ProcessResult Busctl(params string[] arguments) =>
        ProcessRunner.Run(BusctlPath, ["--address=" + SocketAddress, "--no-pager", .. arguments], timeout: TimeSpan.FromSeconds(20));

    /// <summary>The unique name owning <paramref name="name"/>, or null when it has none.</summary>
    public string? Owner(string name)
    {
        ProcessResult r = Busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s", name);
        return r.ExitCode == 0 ? r.Stdout.Trim().Split(' ')[1].Trim('"') : null;
    }

    public void Kill()
    {
        if (_daemon is { HasExited: false })
        {
            _daemon.Kill();
            _daemon.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    public void Dispose()
    {
        Kill();
        _daemon?.Dispose();
        if (Directory.Length > 0)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>A test that needs dbus-daemon and busctl.</summary>
public sealed class SessionBusFactAttribute : FactAttribute
{
    public SessionBusFactAttribute()
    {
        if ((Peers.ProgramMissing(SessionBus.DaemonPath) ?? Peers.ProgramMissing(SessionBus.BusctlPath)) is { } missing && !Peers.Required)
        {
            Skip = missing;
        }
    }
}
