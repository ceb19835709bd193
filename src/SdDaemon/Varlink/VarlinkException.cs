using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SdDaemon.Varlink;

/// <summary>
/// A Varlink error reply (<see href="https://varlink.org/Method-Call">varlink.org</see>): throw it from a
/// method to answer the call with <c>{"error":"<see cref="Error"/>","parameters":{...}}</c>. The
/// factories make the errors of <c>org.varlink.service</c> that every service shares.
/// </summary>
public sealed class VarlinkException : Exception
{
    private readonly Action<Utf8JsonWriter>? _writeParameters;

    /// <summary>An error without parameters.</summary>
    /// <param name="error">The fully qualified error name, e.g. <c>org.example.ftl.NotReady</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="error"/> is not <c>interface.Name</c>.</exception>
    public VarlinkException(string error)
        : this(error, null, error)
    {
    }

    private VarlinkException(string error, Action<Utf8JsonWriter>? writeParameters, string message)
        : base(message)
    {
        if (!VarlinkNames.IsQualifiedMember(error))
        {
            throw new ArgumentException($"'{error}' is not a qualified Varlink error name (interface.Name)", nameof(error));
        }

        Error = error;
        _writeParameters = writeParameters;
    }

    /// <summary>The fully qualified error name.</summary>
    public string Error { get; }

    /// <summary>An error whose parameters are <paramref name="parameters"/>, serialized with
    /// <paramref name="typeInfo"/> (source-generated: no reflection).</summary>
    /// <exception cref="ArgumentException"><paramref name="error"/> is not <c>interface.Name</c>.</exception>
    public static VarlinkException Create<T>(string error, T parameters, JsonTypeInfo<T> typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return new VarlinkException(error, writer => JsonSerializer.Serialize(writer, parameters, typeInfo), error);
    }

    /// <summary><c>org.varlink.service.InvalidParameter</c>: the call's parameter <paramref name="parameter"/> is wrong.</summary>
    public static VarlinkException InvalidParameter(string parameter) =>
        WithString(VarlinkErrors.InvalidParameter, "parameter", parameter);

    /// <summary><c>org.varlink.service.MethodNotImplemented</c>: the method exists but does nothing here.</summary>
    public static VarlinkException MethodNotImplemented(string method) =>
        WithString(VarlinkErrors.MethodNotImplemented, "method", method);

    /// <summary><c>org.varlink.service.PermissionDenied</c>.</summary>
    public static VarlinkException PermissionDenied() => new(VarlinkErrors.PermissionDenied);

    /// <summary><c>org.varlink.service.ExpectedMore</c>: the method needs <c>"more":true</c>.</summary>
    public static VarlinkException ExpectedMore() => new(VarlinkErrors.ExpectedMore);

    internal static VarlinkException MethodNotFound(string method) =>
        WithString(VarlinkErrors.MethodNotFound, "method", method);

    internal static VarlinkException InterfaceNotFound(string name) =>
        WithString(VarlinkErrors.InterfaceNotFound, "interface", name);

    /// <summary>The error for a failure that is no error of the interface: systemd's
    /// <c>io.systemd.System</c> with an errno, which varlinkctl prints as the errno's text.</summary>
    internal static VarlinkException System(int errno, string errnoName) => new(
        VarlinkErrors.System,
        writer =>
        {
            writer.WriteStartObject();
            writer.WriteNumber("errno", errno);
            writer.WriteString("errnoName", errnoName);
            writer.WriteEndObject();
        },
        VarlinkErrors.System + " " + errnoName);

    private static VarlinkException WithString(string error, string name, string value) => new(
        error,
        writer =>
        {
            writer.WriteStartObject();
            writer.WriteString(name, value);
            writer.WriteEndObject();
        },
        $"{error} ({name} {value})");

    internal void WriteTo(System.Buffers.IBufferWriter<byte> output) => VarlinkWire.WriteError(output, Error, _writeParameters);
}
