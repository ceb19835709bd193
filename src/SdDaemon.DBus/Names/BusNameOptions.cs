namespace SdDaemon.DBus;

/// <summary>How a well-known name is requested (RequestName's flags in the D-Bus specification).</summary>
[Flags]
public enum BusNameOptions
{
    /// <summary>Take the name only if nobody owns it, and keep it: the usual choice for a daemon.</summary>
    None = 0,

    /// <summary>DBUS_NAME_FLAG_ALLOW_REPLACEMENT: a later requester with <see cref="ReplaceExisting"/>
    /// may take the name from this one (which then gets <see cref="BusName.Lost"/>).</summary>
    AllowReplacement = 1,

    /// <summary>DBUS_NAME_FLAG_REPLACE_EXISTING: take the name from its owner if that owner allowed replacement.</summary>
    ReplaceExisting = 2,

    /// <summary>Wait in the bus's queue while someone else owns the name (no DBUS_NAME_FLAG_DO_NOT_QUEUE):
    /// <see cref="BusName.AcquireAsync"/> completes once the name is ours.</summary>
    Queue = 0x100,
}
