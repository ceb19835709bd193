namespace SdDaemon.Varlink;

/// <summary>
/// The error names every Varlink service shares (interface <c>org.varlink.service</c>,
/// <see href="https://varlink.org/Service">varlink.org: Service</see>), and systemd's generic
/// errno error.
/// </summary>
public static class VarlinkErrors
{
    /// <summary>A call named an interface the service does not have.</summary>
    public const string InterfaceNotFound = "org.varlink.service.InterfaceNotFound";

    /// <summary>A call named a method its interface does not have.</summary>
    public const string MethodNotFound = "org.varlink.service.MethodNotFound";

    /// <summary>The method is declared but not implemented.</summary>
    public const string MethodNotImplemented = "org.varlink.service.MethodNotImplemented";

    /// <summary>A parameter is missing, unknown or of the wrong type or value.</summary>
    public const string InvalidParameter = "org.varlink.service.InvalidParameter";

    /// <summary>The caller may not call this method.</summary>
    public const string PermissionDenied = "org.varlink.service.PermissionDenied";

    /// <summary>The method streams its replies and must be called with <c>"more":true</c>.</summary>
    public const string ExpectedMore = "org.varlink.service.ExpectedMore";

    /// <summary>systemd's errno-carrying error (<c>{"errno":N,"errnoName":"E..."}</c>), sent for a method
    /// that failed with an exception that was no <see cref="VarlinkException"/>.</summary>
    public const string System = "io.systemd.System";
}
