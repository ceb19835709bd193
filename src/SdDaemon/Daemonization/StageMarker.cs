using System.Globalization;

namespace SdDaemon.Daemonization;

/// <summary>
/// The stage marker a stage gives the next one: <c>SDDAEMON_STAGE=stage:fd:token:kept-fds</c>. The
/// variable alone proves nothing: descriptor <c>fd</c> must be an inherited pipe whose writer is
/// closed and whose whole content is <c>token</c> (128 random bits, written before the spawn), so a
/// variable set by a user (or left over in an environment) never makes a program think it is the
/// daemon.
/// </summary>
internal sealed record StageMarker(DaemonStage Stage, int Fd, string Token, IReadOnlyList<int> KeptFds)
{
    public const string Variable = "SDDAEMON_STAGE";

    public const int TokenLength = 32;

    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{(int)Stage}:{Fd}:{Token}:{string.Join(',', KeptFds)}");

    public static string NewToken() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(TokenLength / 2)).ToLowerInvariant();

    /// <summary>Parses the variable's text; null when it is malformed (then it is ignored, not trusted).</summary>
    public static StageMarker? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        string[] parts = text.Split(':');
        if (parts.Length != 4
            || parts[0] is not ("1" or "2")
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int fd) || fd < 3
            || parts[2].Length != TokenLength || !parts[2].All(char.IsAsciiHexDigitLower))
        {
            return null;
        }

        var kept = new List<int>();
        if (parts[3].Length > 0)
        {
            foreach (string item in parts[3].Split(','))
            {
                if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int keptFd) || keptFd < 3 || keptFd == fd || kept.Contains(keptFd))
                {
                    return null;
                }

                kept.Add(keptFd);
            }
        }

        return new StageMarker((DaemonStage)(parts[0][0] - '0'), fd, parts[2], kept);
    }
}
