using System.Text;
using SdDaemon.Interop;

namespace SdDaemon;

/// <summary>
/// The receiving side of the notify protocol, read the way systemd's manager reads it: one datagram
/// with the sender's credentials and descriptors (<see cref="SocketMessage.Receive"/>), then its lines
/// (spec N-7, N-8).
/// <see cref="NotifyChannel"/> is the one writer; this is the one reader, shared as source by the
/// daemonization launcher's readiness socket and SdDaemon.Testing's <c>NotifyReceiver</c>.
/// </summary>
internal static class NotifyDatagramReader
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The buffer for <see cref="SocketMessage.Receive"/>: one byte more than the manager
    /// accepts, so that a datagram that is too long is seen as such.</summary>
    public const int BufferSize = Notification.MaxMessageBytes + 1;

    /// <summary>
    /// The lines of a received datagram, or null with the reason the manager would drop it (spec N-18,
    /// in systemd 262's order): control data cut short, more than <see cref="Notification.MaxMessageBytes"/>,
    /// no valid sender pid in SCM_CREDENTIALS, or what <see cref="Split"/> refuses.
    /// </summary>
    public static IReadOnlyList<string>? Lines(ReadOnlySpan<byte> buffer, ReceivedDatagram datagram, out string? dropReason)
    {
        if ((datagram.Flags & Libc.MSG_CTRUNC) != 0)
        {
            dropReason = "control data truncated";
            return null;
        }

        if (datagram.Length > Notification.MaxMessageBytes || (datagram.Flags & Libc.MSG_TRUNC) != 0)
        {
            dropReason = $"datagram of {datagram.Length} bytes is over {Notification.MaxMessageBytes}";
            return null;
        }

        // A sender whose pid the receiver's pid namespace cannot name arrives with pid 0.
        if (datagram.Pid <= 0)
        {
            dropReason = "no valid credentials (SCM_CREDENTIALS missing or pid 0)";
            return null;
        }

        return Split(buffer[..datagram.Length], out dropReason);
    }

    /// <summary>
    /// Lines as the manager splits them: one trailing NUL tolerated, any other NUL drops the datagram;
    /// lines end at \n or \r and empty ones are skipped; a backslash takes the next character
    /// literally (a lone one at the end drops the datagram); BARRIER=1 must stand alone.
    /// </summary>
    public static IReadOnlyList<string>? Split(ReadOnlySpan<byte> data, out string? dropReason)
    {
        dropReason = null;
        if (data.Length > 0 && data[^1] == 0)
        {
            data = data[..^1];
        }

        if (data.IndexOf((byte)0) >= 0)
        {
            dropReason = "embedded NUL byte";
            return null;
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(data);
        }
        catch (DecoderFallbackException)
        {
            // The manager splits bytes, not characters; keep going on a lossy decoding so that the
            // lines can still be seen.
            text = Encoding.UTF8.GetString(data);
        }

        var lines = new List<string>();
        var current = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 1 == text.Length)
                {
                    dropReason = "trailing lone backslash";
                    return null;
                }

                // The escaped character is taken literally (even a line break) and the backslash goes.
                current.Append(text[++i]);
                continue;
            }

            if (c is '\n' or '\r')
            {
                if (current.Length > 0)
                {
                    lines.Add(current.ToString());
                    current.Clear();
                }

                continue;
            }

            current.Append(c);
        }

        if (current.Length > 0)
        {
            lines.Add(current.ToString());
        }

        if (lines.Contains("BARRIER=1") && lines.Count > 1)
        {
            dropReason = "BARRIER=1 with other assignments";
            return null;
        }

        return lines;
    }

    /// <summary>The value of the first <c>KEY=</c> line: the first assignment wins (spec N-8).</summary>
    public static string? Get(IReadOnlyList<string> lines, string key)
    {
        foreach (string line in lines)
        {
            if (line.Length > key.Length && line[key.Length] == '=' && line.StartsWith(key, StringComparison.Ordinal))
            {
                return line[(key.Length + 1)..];
            }
        }

        return null;
    }
}
