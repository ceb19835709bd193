using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Text;
using SdDaemon.Interop;

namespace SdDaemon.Daemonization;

/// <summary>
/// Which stage this process is, from the stage marker (<see cref="StageMarker"/>): an environment
/// variable AND an inherited anonymous pipe holding exactly its random token, with the writer gone.
/// </summary>
[SupportedOSPlatform("linux")]
internal static class StageDetection
{
    public static unsafe (DaemonStage, StageMarker?) Detect()
    {
        string? text = System.Environment.GetEnvironmentVariable(StageMarker.Variable);
        if (text is null)
        {
            return (DaemonStage.Original, null);
        }

        // Never passed on: not to the daemon's children, not through a forged value.
        System.Environment.SetEnvironmentVariable(StageMarker.Variable, null);
        fixed (byte* name = Libc.Utf8Z(StageMarker.Variable))
        {
            _ = Libc.UnsetEnv(name);
        }

        // The descriptor must be an anonymous pipe (pipefs; a named FIFO is not one of ours), and
        // is only looked at, never changed (no O_NONBLOCK on a description others may share): poll
        // with a zero timeout before every read, so that this never blocks.
        StageMarker? marker = StageMarker.Parse(text);
        if (marker is null || !IsAnonymousPipe(marker.Fd))
        {
            return (DaemonStage.Original, null);
        }

        // The whole content must be the token, and the writer must be gone (EOF, not "nothing yet").
        byte[] expected = Encoding.ASCII.GetBytes(marker.Token);
        byte* buffer = stackalloc byte[StageMarker.TokenLength + 1];
        int length = 0;
        while (true)
        {
            var poll = new Libc.PollFd { Fd = marker.Fd, Events = Libc.POLLIN };
            int ready = Libc.Poll(&poll, 1, 0);
            if (ready < 0 && Libc.LastErrno == Errno.EINTR)
            {
                continue;
            }

            if (ready <= 0 || (poll.REvents & (Libc.POLLIN | Libc.POLLHUP)) == 0)
            {
                return (DaemonStage.Original, null); // no data and a writer still open, or an error: not our marker
            }

            nint n = Libc.Read(marker.Fd, buffer + length, (nuint)(StageMarker.TokenLength + 1 - length));
            if (n > 0)
            {
                length += (int)n;
                if (length > StageMarker.TokenLength)
                {
                    return (DaemonStage.Original, null);
                }

                continue;
            }

            if (n == 0)
            {
                break;
            }

            int errno = Libc.LastErrno;
            if (errno == Errno.EINTR)
            {
                continue;
            }

            if (length > 0 && new ReadOnlySpan<byte>(buffer, length).SequenceEqual(expected.AsSpan(0, Math.Min(length, expected.Length))))
            {
                // What we read so far is the token: a genuine marker whose read failed. Acting as
                // the original would start yet another chain of stages: fail loudly instead.
                throw StageFailure.Exit(errno, Errno.Describe($"reading the stage marker failed after {length} bytes", errno), toStderr: true);
            }

            return (DaemonStage.Original, null);
        }

        if (length != StageMarker.TokenLength || !new ReadOnlySpan<byte>(buffer, length).SequenceEqual(expected))
        {
            return (DaemonStage.Original, null);
        }

        Libc.CloseQuietly(marker.Fd);
        // POSIX_SPAWN_SETSID made the session leader; the daemon must not be one.
        int sid = Libc.GetSid(0);
        bool leader = sid == System.Environment.ProcessId;
        if ((marker.Stage == DaemonStage.SessionLeader) != leader)
        {
            // A genuine marker (the token matched) in the wrong kind of process: never fall back to
            // acting as the original, which would start yet another chain of stages.
            throw StageFailure.Exit(Errno.EPROTO, $"stage {marker.Stage} check failed: session id {sid}, pid {System.Environment.ProcessId}", toStderr: true);
        }

        return (marker.Stage, marker);
    }

    /// <summary>An anonymous pipe (S_IFIFO on pipefs), as pipe2() makes for the stage marker.</summary>
    private static unsafe bool IsAnonymousPipe(int fd)
    {
        if (!Libc.TryStat(fd, null, out FileIdentity identity, out _) || identity.FileType != Libc.S_IFIFO)
        {
            return false;
        }

        long* statfs = stackalloc long[32]; // struct statfs starts with f_type (a long on 64-bit)
        return Libc.FStatFs(fd, statfs) == 0 && statfs[0] == Libc.PipeFsMagic;
    }
}
