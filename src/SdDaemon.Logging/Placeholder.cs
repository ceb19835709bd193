namespace SdDaemon.Logging;

/// <summary>Placeholder until the journald logging issue lands.</summary>
internal static class Placeholder
{
}
