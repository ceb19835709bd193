using System.Diagnostics;
using SdDaemon.IntegrationTests.Infrastructure;
using Xunit;

namespace SdDaemon.IntegrationTests.Varlink;

/// <summary>
/// examples/VarlinkDaemon under systemd 262 as PID 1, driven by systemd's own Varlink client,
/// varlinkctl(1): info, introspect, calls with more, io.systemd.service (Ping, SetLogLevel as seen
/// in the journal, Reload as the manager sees it), errors for unknown methods, bad parameters and
/// malformed messages; the socket passed by a socket unit and the one the library binds and
/// registers itself (spec V-1 .. V-10).
/// </summary>
public abstract class VarlinkPid1Tests(Pid1Container pid1)
{
    private const string Interface = "org.sddaemon.example.Echo";
    private const string Registered = "/run/varlink/registry/" + Interface;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static string ExecStart => $"{TestDaemon.DotnetPath} {Path.Combine(AppContext.BaseDirectory, "VarlinkDaemon.dll")}";

    private ProcessResult Varlinkctl(params string[] arguments) => pid1.Exec(["varlinkctl", .. arguments]);

    /// <summary>The socket unit passes "varlink" and makes the registry link (Symlinks=).</summary>
    private string StartSocketActivated()
    {
        pid1.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("varlink");
        pid1.InstallUnit(unit + ".socket", $"""
            [Socket]
            ListenStream=/run/{unit}/{Interface}
            FileDescriptorName=varlink
            SocketMode=0666
            RemoveOnStop=yes
            Symlinks={Registered}
            """);
        pid1.InstallUnit(unit + ".service", $"""
            [Service]
            Type=notify-reload
            ExecStart={ExecStart}
            """);
        pid1.Systemctl("start", unit + ".socket").EnsureSuccess("starting the socket");
        return unit;
    }

    private void Stop(string unit)
    {
        pid1.Cleanup(unit + ".service");
        pid1.Cleanup(unit + ".socket");
    }

    [Pid1Fact]
    public void Info_and_introspect_show_the_interfaces_and_their_descriptions()
    {
        string unit = StartSocketActivated();
        try
        {
            // The first connection starts the service (socket activation).
            string info = Varlinkctl("info", Registered).EnsureSuccess("varlinkctl info").Stdout;
            Assert.Contains("Vendor: SdDaemon examples", info);
            Assert.Contains("Product: VarlinkDaemon", info);
            Assert.Contains("URL: https://github.com/sddaemon/sddaemon", info);
            Assert.Matches(@"Interfaces: io\.systemd\.service\s+org\.sddaemon\.example\.Echo\s+org\.varlink\.service", info);
            Assert.Equal("active", pid1.WaitForProperty(unit + ".service", "ActiveState", "active", Wait));

            string service = Varlinkctl("introspect", Registered, "io.systemd.service").EnsureSuccess("introspect io.systemd.service").Stdout;
            Assert.Contains("interface io.systemd.service", service);
            Assert.Contains("method SetLogLevel(", service);
            Assert.Contains("method GetEnvironment() -> (", service);

            string own = Varlinkctl("introspect", Registered, Interface).EnsureSuccess("introspect the example's interface").Stdout;
            // varlinkctl parses the description and prints it in its own layout.
            Assert.Contains("interface org.sddaemon.example.Echo", own);
            Assert.Matches(@"method Echo\(\s+text: string\s+\) -> \(\s+text: string\s+\)", own);
            Assert.Matches(@"method Count\(\s+upTo: int\s+\) -> \(\s+n: int\s+\)", own);

            string registry = Varlinkctl("list-registry").EnsureSuccess("list-registry").Stdout;
            Assert.Matches($@"{Interface.Replace(".", "\\.")}\s+unix:/run/{unit}/{Interface.Replace(".", "\\.")}", registry);
        }
        finally
        {
            Stop(unit);
        }
    }

    [Pid1Fact]
    public void Calls_answer_and_more_streams_every_reply()
    {
        string unit = StartSocketActivated();
        try
        {
            Assert.Equal("{}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.Ping", "{}").EnsureSuccess("Ping").Stdout.Trim());
            Assert.Equal("{\"text\":\"héllo\"}", Varlinkctl("call", "--json=short", Registered, Interface + ".Echo", "{\"text\":\"héllo\"}").EnsureSuccess("Echo").Stdout.Trim());
            Assert.Equal(
                "{\"n\":1}\n{\"n\":2}\n{\"n\":3}",
                // --more prints a JSON sequence (RFC 7464): each reply after a record separator.
                Varlinkctl("call", "--more", "--json=short", Registered, Interface + ".Count", "{\"upTo\":3}").EnsureSuccess("Count --more").Stdout.Replace("\u001e", "").Trim());
            string environment = Varlinkctl("call", "--json=short", Registered, "io.systemd.service.GetEnvironment", "{}").EnsureSuccess("GetEnvironment").Stdout;
            // The host removed LISTEN_* when it took the descriptors: children do not see them.
            Assert.Contains("\"environment\":[", environment);
            Assert.DoesNotContain("LISTEN_FDNAMES", environment);
            Assert.Contains("\"INVOCATION_ID=", environment);
        }
        finally
        {
            Stop(unit);
        }
    }

    [Pid1Fact]
    public void Errors_name_the_unknown_method_the_bad_parameter_and_a_malformed_message_closes_only_its_connection()
    {
        string unit = StartSocketActivated();
        try
        {
            // --graceful=ERROR succeeds only when the reply is exactly that error.
            void ExpectError(string error, string method, string parameters, string expectedParameters, bool more = false)
            {
                string[] call = [.. (more ? new[] { "--more" } : []), Registered, method, parameters];
                Assert.NotEqual(0, Varlinkctl(["call", .. call]).ExitCode);
                ProcessResult graceful = Varlinkctl(["call", "--json=short", "--graceful=" + error, .. call]);
                Assert.True(graceful.ExitCode == 0, $"{method} {parameters}: {graceful.Stderr}");
                Assert.Equal(expectedParameters, graceful.Stdout.Trim());
            }

            ExpectError("org.varlink.service.MethodNotFound", Interface + ".Nope", "{}", "{\"method\":\"org.sddaemon.example.Echo.Nope\"}");
            ExpectError("org.varlink.service.InterfaceNotFound", "org.sddaemon.nope.Nope", "{}", "{\"interface\":\"org.sddaemon.nope\"}");
            ExpectError("org.varlink.service.InvalidParameter", "io.systemd.service.SetLogLevel", "{\"level\":99}", "{\"parameter\":\"level\"}");
            ExpectError("org.varlink.service.InvalidParameter", Interface + ".Echo", "{\"text\":1}", "{\"parameter\":\"text\"}");
            ExpectError("org.varlink.service.InvalidParameter", Interface + ".Echo", "{\"txt\":\"a\"}", "{\"parameter\":\"txt\"}");
            ExpectError("org.varlink.service.ExpectedMore", Interface + ".Count", "{\"upTo\":2}", "{}");

            // Another user may ping and read the level, but not change the service or read its environment.
            string[] nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "varlinkctl", "call", "--json=short"];
            Assert.Equal("{}", pid1.Exec([.. nobody, Registered, "io.systemd.service.Ping", "{}"]).EnsureSuccess("Ping as nobody").Stdout.Trim());
            foreach ((string method, string parameters) in new[] { ("SetLogLevel", "{\"level\":7}"), ("Reload", "{}"), ("GetEnvironment", "{}") })
            {
                Assert.NotEqual(0, pid1.Exec([.. nobody, Registered, "io.systemd.service." + method, parameters]).ExitCode);
                ProcessResult denied = pid1.Exec([.. nobody, "--graceful=org.varlink.service.PermissionDenied", Registered, "io.systemd.service." + method, parameters]);
                Assert.True(denied.ExitCode == 0, $"{method} as nobody: {denied.Stderr}");
            }

            // Raw bytes no client library would send: not JSON, then an oversized message.
            string script = $$$"""
                import socket
                def send(data):
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect("{{{Registered}}}")
                    s.settimeout(20)
                    try:
                        s.sendall(data)
                        got = s.recv(100)
                    except (ConnectionResetError, BrokenPipeError):
                        # Closed before all was sent or read: the server refused the message.
                        got = b""
                    print(repr(got))
                send(b"not json\0")
                send(b'{"method":"io.systemd.service.Ping","parameters":{"pad":"' + b"x" * (17 * 1024 * 1024) + b'"}}\0')
                """;
            string scriptPath = Path.Combine(pid1.ScratchDirectory, "malformed.py");
            File.WriteAllText(scriptPath, script);
            Assert.Equal("b''\nb''", pid1.Exec("python3", scriptPath).EnsureSuccess("malformed messages").Stdout.Trim());

            // The service runs on and says why it closed those connections.
            Assert.Equal("{}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.Ping", "{}").EnsureSuccess("Ping after").Stdout.Trim());
            string journal = WaitForJournal(unit, "longer than 16777216 bytes");
            Assert.Contains("Varlink: connection closed (ProtocolError): the message is not valid JSON", journal);
        }
        finally
        {
            Stop(unit);
        }
    }

    [Pid1Fact]
    public void SetLogLevel_decides_what_reaches_the_journal_and_null_restores_the_configured_level()
    {
        string unit = StartSocketActivated();
        try
        {
            string Echo(string text) =>
                Varlinkctl("call", "--json=short", Registered, Interface + ".Echo", $"{{\"text\":\"{text}\"}}").EnsureSuccess("Echo " + text).Stdout;
            string SetLevel(string level) =>
                Varlinkctl("call", "--json=short", Registered, "io.systemd.service.SetLogLevel", $"{{\"level\":{level}}}").EnsureSuccess("SetLogLevel " + level).Stdout;

            Echo("first-at-info");
            Assert.Equal("{\"level\":6}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.GetLogLevel", "{}").EnsureSuccess("GetLogLevel").Stdout.Trim());
            SetLevel("7");
            Assert.Equal("{\"level\":7}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.GetLogLevel", "{}").EnsureSuccess("GetLogLevel").Stdout.Trim());
            Echo("second-at-debug");
            SetLevel("null");
            Echo("third-restored");
            SetLevel("6"); // logged at information: a marker after the third echo

            string journal = WaitForJournal(unit, "Log level set over Varlink to 6");
            Assert.DoesNotContain("echo: first-at-info", journal);
            Assert.Contains("echo: second-at-debug", journal);
            Assert.DoesNotContain("echo: third-restored", journal);

            // The debug line went to journald with its syslog priority.
            string debug = pid1.Journalctl("-u", unit + ".service", "-p", "7..7", "-o", "cat", "--no-hostname").Stdout;
            Assert.Contains("echo: second-at-debug", debug);
        }
        finally
        {
            Stop(unit);
        }
    }

    [Pid1Fact]
    public void Reload_over_Varlink_runs_the_SIGHUP_path_and_the_manager_sees_it_complete()
    {
        string unit = StartSocketActivated();
        try
        {
            Varlinkctl("call", Registered, "io.systemd.service.Ping", "{}").EnsureSuccess("Ping (starts the service)");
            Assert.Equal("active", pid1.WaitForProperty(unit + ".service", "ActiveState", "active", Wait));
            string before = pid1.Property(unit + ".service", "StatusText");
            Assert.Equal("serving Varlink", before);

            // The manager logs the state changes RELOADING=1 and READY=1 cause at debug level only.
            pid1.Exec("systemd-analyze", "log-level", "debug").EnsureSuccess("PID 1 at debug");
            try
            {
                Assert.Equal("{}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.Reload", "{}").EnsureSuccess("Reload").Stdout.Trim());
                string journal = WaitForJournal(unit, "Changed reload-notify -> running");
                Assert.Matches(@"Got notification message from PID [0-9]+: RELOADING=1, MONOTONIC_USEC=[0-9]+", journal);
                int reloading = journal.IndexOf("Changed running -> reload-notify", StringComparison.Ordinal);
                Assert.True(reloading >= 0, journal);
                Assert.True(reloading < journal.IndexOf("Changed reload-notify -> running", StringComparison.Ordinal));
                Assert.Contains("reload handler ran", journal);
                Assert.Contains("Configuration reloaded", journal);
            }
            finally
            {
                pid1.Exec("systemd-analyze", "log-level", "info");
            }

            Assert.Equal("active", pid1.Property(unit + ".service", "ActiveState"));
            Assert.Equal("success", pid1.Property(unit + ".service", "ReloadResult"));
            Assert.Equal("serving Varlink", pid1.Property(unit + ".service", "StatusText"));
        }
        finally
        {
            Stop(unit);
        }
    }

    [Pid1Fact]
    public void Without_a_socket_unit_the_library_binds_in_RuntimeDirectory_and_registers_until_it_stops()
    {
        pid1.EnsureRunning();
        string unit = TestDaemon.UniqueUnit("varlink-bound");
        pid1.InstallUnit(unit + ".service", $"""
            [Service]
            Type=notify-reload
            RuntimeDirectory={unit}
            ExecStart={ExecStart}
            """);
        try
        {
            pid1.Systemctl("start", unit + ".service").EnsureSuccess("start");
            Assert.Equal($"/run/{unit}/{Interface}\n", pid1.Exec("readlink", Registered).EnsureSuccess("readlink").Stdout);
            Assert.Equal("{}", Varlinkctl("call", "--json=short", Registered, "io.systemd.service.Ping", "{}").EnsureSuccess("Ping").Stdout.Trim());
            Assert.Contains(Interface, Varlinkctl("list-registry").Stdout);

            pid1.Systemctl("stop", unit + ".service").EnsureSuccess("stop");
            Assert.NotEqual(0, pid1.Exec("test", "-L", Registered).ExitCode);
        }
        finally
        {
            pid1.Cleanup(unit + ".service");
        }
    }

    /// <summary>The unit's journal (messages only) once it holds <paramref name="marker"/>.</summary>
    private string WaitForJournal(string unit, string marker)
    {
        var stopwatch = Stopwatch.StartNew();
        string text = "";
        while (stopwatch.Elapsed < Wait)
        {
            text = pid1.Journalctl("-u", unit + ".service", "-o", "cat", "--no-hostname").Stdout;
            if (text.Contains(marker))
            {
                return text;
            }

            Thread.Sleep(200);
        }

        Assert.Fail($"'{marker}' did not reach the journal of {unit} within {Wait.TotalSeconds} s:\n{text}");
        return text;
    }
}

[Collection(Pid1Systemd262Collection.Name)]
public sealed class VarlinkPid1Tests262(Systemd262Pid1 pid1) : VarlinkPid1Tests(pid1);
