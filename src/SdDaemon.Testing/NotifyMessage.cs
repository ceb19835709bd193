using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SdDaemon.Testing;

/// <summary>
/// One datagram received by a <see cref="NotifyReceiver"/>, read the way systemd's manager reads
/// it (spec N-6..N-8, as newer managers do): lines split on <c>\n</c> and <c>\r</c>, a backslash
/// escapes the next character (which is then taken literally, the backslash dropped), empty lines
/// skipped, the first occurrence of a key wins, BARRIER=1 only alone; a datagram without a valid
/// sender pid, over 4096 bytes or with a NUL inside is dropped, as systemd 262 drops it (spec N-18). (systemd 252 keeps the
/// backslashes in the text instead.) A datagram the manager would drop has a
/// <see cref="DropReason"/> and no <see cref="Lines"/>. Dispose it to close received descriptors.
/// </summary>
public sealed class NotifyMessage : IDisposable
{
    private readonly List<SafeFileHandle> _files;

    internal NotifyMessage(byte[] data, int pid, uint uid, uint gid, List<SafeFileHandle> files, string? dropReason, IReadOnlyList<string> lines)
    {
        Data = data;
        Pid = pid;
        Uid = uid;
        Gid = gid;
        _files = files;
        DropReason = dropReason;
        Lines = lines;
    }

    /// <summary>The datagram's bytes, exactly as received.</summary>
    public IReadOnlyList<byte> Data { get; }

    /// <summary>The sender's pid from SCM_CREDENTIALS (what the kernel vouched for, or what a privileged sender claimed).</summary>
    public int Pid { get; }

    /// <summary>
    /// The sender's pidfd (SCM_PIDFD) when the receiver has SO_PASSPIDFD (<see cref="NotifyReceiver.PassesPidFd"/>):
    /// the process that sent the message, which no reuse of its pid can change (systemd 257+ looks the unit up
    /// by it). Null when none came. Owned by the message: closed by <see cref="Dispose"/>.
    /// </summary>
    public SafeFileHandle? SenderPidFd { get; internal init; }

    /// <summary>The sender's uid from SCM_CREDENTIALS.</summary>
    public uint Uid { get; }

    /// <summary>The sender's gid from SCM_CREDENTIALS.</summary>
    public uint Gid { get; }

    /// <summary>Descriptors received with SCM_RIGHTS (CLOEXEC), owned by this message until <see cref="TakeFiles"/>.</summary>
    public IReadOnlyList<SafeFileHandle> Files
    {
        get
        {
            lock (_files)
            {
                return _files.ToArray();
            }
        }
    }

    /// <summary>Hands the received descriptors to the caller, who then owns (and closes) them; the
    /// message, and the receiver's <see cref="NotifyReceiver.Dispose"/>, no longer close them.</summary>
    public IReadOnlyList<SafeFileHandle> TakeFiles()
    {
        lock (_files)
        {
            SafeFileHandle[] taken = _files.ToArray();
            _files.Clear();
            return taken;
        }
    }

    /// <summary>Why systemd's manager would ignore this datagram; null when it would process it.</summary>
    public string? DropReason { get; }

    /// <summary>The assignments, as the manager splits them.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>The datagram as text (UTF-8).</summary>
    public string Text => Encoding.UTF8.GetString((byte[])Data);

    /// <summary>The value of the first <c>KEY=</c> line, as the manager takes it; null when absent.</summary>
    public string? this[string key] => Get(key);

    /// <summary>The value of the first <c>KEY=</c> line, as the manager takes it; null when absent.</summary>
    public string? Get(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return NotifyDatagramReader.Get(Lines, key);
    }

    /// <summary>True when a line is exactly <paramref name="assignment"/> (the manager tests <c>READY=1</c> this way).</summary>
    public bool Contains(string assignment) => Lines.Contains(assignment, StringComparer.Ordinal);

    /// <summary>Closes the received descriptors that were not taken, and <see cref="SenderPidFd"/>.</summary>
    public void Dispose()
    {
        SenderPidFd?.Dispose();
        foreach (SafeFileHandle file in TakeFiles())
        {
            file.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"pid={Pid} uid={Uid} gid={Gid} fds={_files.Count}{(DropReason is null ? "" : " dropped: " + DropReason)} {Text.Replace("\n", "\\n", StringComparison.Ordinal)}";
}
