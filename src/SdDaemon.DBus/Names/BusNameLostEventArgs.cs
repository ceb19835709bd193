namespace SdDaemon.DBus;

/// <summary>Why an owned name was lost.</summary>
public enum BusNameLossReason
{
    /// <summary>Another connection took it (we allowed replacement): the bus sent NameLost.</summary>
    Replaced,

    /// <summary>The connection to the bus closed or failed (the bus went away).</summary>
    Disconnected,
}

/// <summary>An owned well-known name was lost (not released by us).</summary>
public sealed class BusNameLostEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    public BusNameLostEventArgs(string name, BusNameLossReason reason, Exception? exception)
    {
        Name = name;
        Reason = reason;
        Exception = exception;
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>Why it was lost.</summary>
    public BusNameLossReason Reason { get; }

    /// <summary>For <see cref="BusNameLossReason.Disconnected"/>: the connection's failure, if any.</summary>
    public Exception? Exception { get; }

    /// <inheritdoc/>
    public override string ToString() => Reason == BusNameLossReason.Replaced
        ? $"the bus name {Name} was taken over by another connection"
        : $"the connection to the bus closed, and with it the bus name {Name}" + (Exception is null ? "" : $": {Exception.Message}");
}
