using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using SdDaemon.Tests.Support;
using Xunit;

namespace SdDaemon.Tests.Activation;

/// <summary>
/// Spec L-9, differential: libsystemd's sd_is_* (python3 ctypes, in a child that inherits the same
/// descriptors) and DescriptorCheck must give the same answer (1 / 0 / -errno) for every
/// combination of descriptor and arguments.
/// </summary>
[Collection("real descriptors")]
public sealed class LibsystemdIsDifferentialTests : IDisposable
{
    private const int First = 900;
    private readonly string _dir = Directory.CreateTempSubdirectory("sdd-isd-").FullName;
    private readonly List<IDisposable> _keep = [];

    public void Dispose()
    {
        for (int fd = First; fd < First + 16; fd++)
        {
            _ = SdDaemon.Interop.Libc.Close(fd);
        }

        foreach (IDisposable d in _keep)
        {
            d.Dispose();
        }

        Directory.Delete(_dir, recursive: true);
    }

    private const string Oracle = """
        import ctypes, json, sys
        lib = ctypes.CDLL("libsystemd.so.0")
        out = []
        for c in json.load(sys.stdin):
            f, fd, a = c[0], c[1], c[2:]
            enc = lambda s: None if s is None else s.encode("latin-1")
            if f == "fifo": r = lib.sd_is_fifo(fd, enc(a[0]))
            elif f == "special": r = lib.sd_is_special(fd, enc(a[0]))
            elif f == "socket": r = lib.sd_is_socket(fd, a[0], a[1], a[2])
            elif f == "inet": r = lib.sd_is_socket_inet(fd, a[0], a[1], a[2], ctypes.c_uint16(a[3]))
            elif f == "unix":
                p = enc(a[2])
                r = lib.sd_is_socket_unix(fd, a[0], a[1], p, ctypes.c_size_t(len(p) if p else 0))
            elif f == "mq": r = lib.sd_is_mq(fd, None)
            out.append(r)
        json.dump(out, sys.stdout)
        """;

    private static AddressFamily Family(int f) => f switch
    {
        0 => AddressFamily.Unspecified,
        1 => AddressFamily.Unix,
        2 => AddressFamily.InterNetwork,
        10 => AddressFamily.InterNetworkV6,
        _ => throw new ArgumentOutOfRangeException(nameof(f)),
    };

    private static SocketType Type(int t) => t == 0 ? SocketType.Unknown : (SocketType)t;

    private static bool? Listening(int l) => l < 0 ? null : l > 0;

    private static int ToInt(CheckResult r) => r.Outcome switch
    {
        CheckOutcome.Yes => 1,
        CheckOutcome.No => 0,
        _ => -r.Errno,
    };

    private static int Ours(object?[] call)
    {
        int fd = (int)call[1]!;
        return (string)call[0]! switch
        {
            "fifo" => ToInt(DescriptorCheck.IsFifo(fd, (string?)call[2])),
            "special" => ToInt(DescriptorCheck.IsSpecial(fd, (string?)call[2])),
            "socket" => ToInt(DescriptorCheck.IsSocket(fd, Family((int)call[2]!), Type((int)call[3]!), Listening((int)call[4]!))),
            "inet" => ToInt(DescriptorCheck.IsSocketInet(fd, Family((int)call[2]!), Type((int)call[3]!), Listening((int)call[4]!), (ushort)(int)call[5]!)),
            "unix" => ToInt(DescriptorCheck.IsSocketUnix(fd, Type((int)call[2]!), Listening((int)call[3]!), (string?)call[4])),
            "mq" => ToInt(DescriptorCheck.IsMessageQueue(fd)),
            _ => throw new ArgumentException("unknown call"),
        };
    }

    private int Place(SafeHandle handle, int index)
    {
        _keep.Add(handle);
        return TestLibc.PlaceAt((int)handle.DangerousGetHandle(), First + index);
    }

    [LibsystemdFact]
    public async Task L9_every_sd_is_call_gives_libsystemds_answer()
    {
        var tcp4 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        tcp4.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        tcp4.Listen();
        var tcp6 = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        tcp6.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        tcp6.Listen();
        var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        string unixPath = Path.Combine(_dir, "u.sock");
        var unixStream = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        unixStream.Bind(new UnixDomainSocketEndPoint(unixPath));
        unixStream.Listen();
        string abstractName = "sdd-isd-" + Guid.NewGuid().ToString("N")[..10];
        var unixAbstract = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        unixAbstract.Bind(new UnixDomainSocketEndPoint("\0" + abstractName));
        var unnamed = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        string fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, TestLibc.MkFifo(fifo, 0x1b6));
        string file = Path.Combine(_dir, "file");
        foreach (Socket s in new[] { tcp4, tcp6, udp, unixStream, unixAbstract, unnamed })
        {
            _keep.Add(s);
        }

        int[] fds =
        [
            Place(tcp4.SafeHandle, 0), Place(tcp6.SafeHandle, 1), Place(udp.SafeHandle, 2), Place(unixStream.SafeHandle, 3),
            Place(unixAbstract.SafeHandle, 4), Place(unnamed.SafeHandle, 5),
            Place(File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite), 6),
            Place(File.OpenHandle(file, FileMode.Create, FileAccess.ReadWrite), 7),
            Place(File.OpenHandle("/dev/null", FileMode.Open, FileAccess.Read), 8),
            First + 15, // not open: EBADF
        ];
        int port4 = ((IPEndPoint)tcp4.LocalEndPoint!).Port;
        int port6 = ((IPEndPoint)tcp6.LocalEndPoint!).Port;

        var calls = new List<object?[]>();
        foreach (int fd in fds)
        {
            foreach (string? path in new[] { null, fifo, file, "/dev/null", "/dev/zero", Path.Combine(_dir, "missing") })
            {
                calls.Add(["fifo", fd, path]);
                calls.Add(["special", fd, path]);
            }

            calls.Add(["mq", fd]);
            foreach (int listening in new[] { -1, 0, 1 })
            {
                foreach (int type in new[] { 0, 1, 2, 5 })
                {
                    foreach (int family in new[] { 0, 1, 2, 10 })
                    {
                        calls.Add(["socket", fd, family, type, listening]);
                    }

                    foreach (int family in new[] { 0, 2, 10 })
                    {
                        foreach (int port in new[] { 0, port4, port6, 1 })
                        {
                            calls.Add(["inet", fd, family, type, listening, port]);
                        }
                    }

                    foreach (string? path in new[] { null, "", unixPath, unixPath + "x", unixPath[..^1], "\0" + abstractName, "\0" + abstractName[..^1], "\0" })
                    {
                        calls.Add(["unix", fd, type, listening, path]);
                    }
                }
            }
        }

        var info = new ProcessStartInfo("/usr/bin/python3", ["-c", Oracle])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process child = Process.Start(info)!; // inherits fds 900.. (no CLOEXEC on them)
        child.StandardInput.Write(JsonSerializer.Serialize(calls));
        child.StandardInput.Close();
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        string output = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(60_000));
        Assert.True(child.ExitCode == 0, await stderr);
        int[] theirs = JsonSerializer.Deserialize<int[]>(output)!;
        Assert.Equal(calls.Count, theirs.Length);

        var differences = new List<string>();
        for (int i = 0; i < calls.Count; i++)
        {
            // The "\0" prefix cannot survive JSON into C strings on both sides equally: compare as given.
            int ours = Ours(calls[i]);
            if (ours != theirs[i])
            {
                differences.Add($"{string.Join(",", calls[i].Select(a => a?.ToString()?.Replace("\0", "\\0", StringComparison.Ordinal) ?? "null"))}: libsystemd {theirs[i]}, SdDaemon {ours}");
            }
        }

        Assert.True(differences.Count == 0, $"{differences.Count} of {calls.Count} differ:\n" + string.Join("\n", differences.Take(40)));
        Assert.Contains(1, theirs); // the oracle said yes somewhere: the descriptors really reached it
    }
}
