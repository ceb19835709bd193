using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SdDaemon.IntegrationTests.Infrastructure;

namespace SdDaemon.IntegrationTests.Logging;

/// <summary>
/// The real systemd-journald, started as a plain process inside the shared manager's mount namespace
/// (shared/spec/REAL-PEERS.md), so that units with StandardError=journal log to it. Inside that
/// namespace only: a tmpfs over /run/log (volatile storage, never the machine's /var/log/journal) and
/// a journald.conf bind-mounted over the machine's (no wall messages for emerg, no kmsg, no rate
/// limit). One for the whole collection (see SystemdCollection), stopped with SIGTERM by its pid at its end.
/// </summary>
public sealed class JournaldInNamespace : IDisposable
{
    public const string Program = "/usr/lib/systemd/systemd-journald";

    private readonly object _gate = new();
    private Process? _journald;
    private string? _configDirectory;
    private string? _problem;

    /// <summary>Starts journald in <paramref name="manager"/>'s namespace once; later calls return at once.
    /// Fails (never skips) when it cannot start.</summary>
    public void EnsureStarted(SystemdUserManager manager)
    {
        manager.EnsureRunning();
        lock (_gate)
        {
            if (_journald is not null || _problem is not null)
            {
                Xunit.Assert.True(_problem is null, _problem);
                return;
            }

            _configDirectory = Directory.CreateTempSubdirectory("sdd-journald-").FullName;
            string config = Path.Combine(_configDirectory, "journald.conf");
            File.WriteAllText(config, "[Journal]\nStorage=volatile\nForwardToWall=no\nForwardToSyslog=no\nForwardToConsole=no\nForwardToKMsg=no\nReadKMsg=no\nRateLimitBurst=0\nRuntimeMaxUse=64M\n");
            var info = new ProcessStartInfo("/usr/bin/nsenter")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
            };
            foreach (string argument in new[]
            {
                "-m", "-t", manager.ManagerPid.ToString(CultureInfo.InvariantCulture), "/bin/sh", "-c",
                $"mount -t tmpfs tmpfs /run/log && mkdir -p /run/log/journal && mount --bind '{config}' /etc/systemd/journald.conf && rm -f /run/systemd/journal/stdout /run/systemd/journal/socket && exec {Program}",
            })
            {
                info.ArgumentList.Add(argument);
            }

            _journald = Process.Start(info)!;
            _journald.StandardInput.Close();
            _journald.OutputDataReceived += (_, _) => { };
            _journald.ErrorDataReceived += (_, _) => { };
            _journald.BeginOutputReadLine();
            _journald.BeginErrorReadLine();

            var stopwatch = Stopwatch.StartNew();
            while (stopwatch.Elapsed < TimeSpan.FromSeconds(20))
            {
                if (_journald.HasExited)
                {
                    break;
                }

                if (manager.InNamespace("/usr/bin/test", "-S", "/run/systemd/journal/stdout").ExitCode == 0
                    && manager.InNamespace("/usr/bin/test", "-S", "/run/systemd/journal/socket").ExitCode == 0)
                {
                    return;
                }

                Thread.Sleep(100);
            }

            _problem = $"systemd-journald did not start in the manager's namespace (exited: {_journald.HasExited})";
            Xunit.Assert.Fail(_problem);
        }
    }

    /// <summary>The entries with SYSLOG_IDENTIFIER=<paramref name="identifier"/>, as journalctl -o json
    /// --all shows them (every field, also the large ones), polled until <paramref name="done"/> holds.</summary>
    public static List<Dictionary<string, string>> Entries(IRealManager manager, string identifier, Func<List<Dictionary<string, string>>, bool> done) =>
        Matching(manager, done, "SYSLOG_IDENTIFIER=" + identifier);

    /// <summary>The entries that journalctl's <paramref name="matches"/> (FIELD=value) select, polled
    /// until <paramref name="done"/> holds: from this journald for the user manager, from the
    /// container's own journald under PID 1 (journalctl runs where the manager's services run).</summary>
    public static List<Dictionary<string, string>> Matching(IRealManager manager, Func<List<Dictionary<string, string>>, bool> done, params string[] matches)
    {
        var stopwatch = Stopwatch.StartNew();
        List<Dictionary<string, string>> entries;
        do
        {
            ProcessResult result = manager.InNamespace(["/usr/bin/journalctl", "-o", "json", "--all", "--no-pager", .. matches]);
            entries = [];
            foreach (string line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                using var document = JsonDocument.Parse(line);
                var entry = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (JsonProperty property in document.RootElement.EnumerateObject())
                {
                    entry[property.Name] = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString()!,
                        // Binary (non-UTF-8) values are arrays of bytes; several values, arrays of those.
                        JsonValueKind.Array when property.Value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number)
                            => System.Text.Encoding.UTF8.GetString(property.Value.EnumerateArray().Select(e => e.GetByte()).ToArray()),
                        _ => property.Value.GetRawText(),
                    };
                }

                entries.Add(entry);
            }

            if (done(entries))
            {
                return entries;
            }

            Thread.Sleep(200);
        }
        while (stopwatch.Elapsed < TimeSpan.FromSeconds(20));
        return entries;
    }

    public void Dispose()
    {
        if (_journald is { HasExited: false })
        {
            _ = ProcessRunner.Run("/bin/kill", ["-TERM", _journald.Id.ToString(CultureInfo.InvariantCulture)]);
            if (!_journald.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                _journald.Kill();
            }
        }

        _journald?.Dispose();
        if (_configDirectory is not null)
        {
            try
            {
                Directory.Delete(_configDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
