namespace SdDaemon.DBus;

/// <summary>Why a well-known name could not be taken.</summary>
public enum BusNameFailure
{
    /// <summary>Another connection owns it and did not allow replacement (or it was not asked for).</summary>
    Taken,

    /// <summary>The bus's policy does not let this user own the name
    /// (org.freedesktop.DBus.Error.AccessDenied: a policy file in /etc/dbus-1/system.d/ is missing).</summary>
    AccessDenied,

    /// <summary>This connection owns it already.</summary>
    AlreadyOwner,

    /// <summary>The bus refused the request with another error (see <see cref="BusNameException.ErrorName"/>).</summary>
    Refused,
}

/// <summary>A well-known name could not be taken; <see cref="Failure"/> says why.</summary>
public sealed class BusNameException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public BusNameException(string name, BusNameFailure failure, string message, string? errorName = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Name = name;
        Failure = failure;
        ErrorName = errorName;
    }

    /// <summary>The name requested.</summary>
    public string Name { get; }

    /// <summary>Why it was not granted.</summary>
    public BusNameFailure Failure { get; }

    /// <summary>The D-Bus error name of the bus's reply, when it replied with an error.</summary>
    public string? ErrorName { get; }
}
