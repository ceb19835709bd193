using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace SdDaemon.Varlink;

/// <summary>
/// One Varlink interface a <see cref="VarlinkServer"/> serves: its name, its description in the Varlink
/// IDL (served to <c>varlinkctl introspect</c> by <c>org.varlink.service.GetInterfaceDescription</c>) and
/// its methods, each typed by source-generated <see cref="JsonTypeInfo{T}"/> for its parameters and
/// reply (no reflection: AOT and trimming safe).
/// </summary>
/// <remarks>
/// Parameters are checked as sd-varlink checks them: a field the parameter type does not have, a
/// missing <c>required</c> one or a value of the wrong type is answered with
/// <c>org.varlink.service.InvalidParameter</c> naming the field, before the method runs. A method
/// answers an error by throwing <see cref="VarlinkException"/>; any other exception is answered with
/// <c>io.systemd.System</c> (EIO) and reported by <see cref="VarlinkServer.Error"/>.
/// The description is served as given: keep it in step with the methods (<c>varlinkctl validate-idl</c>
/// checks its syntax).
/// </remarks>
public sealed class VarlinkInterface
{
    private readonly Dictionary<string, Func<VarlinkCall, CancellationToken, ValueTask>> _methods = new(StringComparer.Ordinal);

    /// <summary>An interface without methods yet.</summary>
    /// <param name="name">Reverse domain name, e.g. <c>org.example.ftl</c>.</param>
    /// <param name="description">Its definition in the Varlink IDL, starting (after comments) with <c>interface NAME</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="name"/> is no valid interface name, or the description does not declare it.</exception>
    public VarlinkInterface(string name, string description)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(description);
        if (!VarlinkNames.IsInterface(name))
        {
            throw new ArgumentException($"'{name}' is not a Varlink interface name (a reverse domain name like org.example.ftl)", nameof(name));
        }

        if (!DeclaresInterface(description, name))
        {
            throw new ArgumentException($"the description does not declare 'interface {name}'", nameof(description));
        }

        Name = name;
        Description = description;
    }

    /// <summary>The interface name.</summary>
    public string Name { get; }

    /// <summary>The IDL text served for introspection.</summary>
    public string Description { get; }

    /// <summary>The names of the methods added (without the interface).</summary>
    public IReadOnlyCollection<string> Methods => _methods.Keys;

    /// <summary>
    /// Adds a method that answers with one reply: <paramref name="method"/>'s result. Called with
    /// <c>"more":true</c> it still sends one reply (without <c>continues</c>), as sd-varlink does.
    /// </summary>
    /// <param name="name">The method name, e.g. <c>Ping</c>.</param>
    /// <param name="parameters">The type of the call's parameters object.</param>
    /// <param name="reply">The type of the reply's parameters object.</param>
    /// <param name="method">The method; its <see cref="CancellationToken"/> is cancelled when the server stops.</param>
    /// <returns>This interface.</returns>
    /// <exception cref="ArgumentException">The name is not a method name or is taken.</exception>
    public VarlinkInterface AddMethod<TParameters, TReply>(
        string name,
        JsonTypeInfo<TParameters> parameters,
        JsonTypeInfo<TReply> reply,
        Func<TParameters, VarlinkCall, CancellationToken, ValueTask<TReply>> method)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(method);
        Add(name, async (call, cancellationToken) =>
        {
            TParameters input = ReadParameters(call, parameters);
            TReply output = await method(input, call, cancellationToken).ConfigureAwait(false);
            await call.ReplyAsync(Writer(output, reply), continues: false, cancellationToken).ConfigureAwait(false);
        });
        return this;
    }

    /// <summary>
    /// Adds a method that streams replies: each item <paramref name="method"/> yields is one reply, all
    /// but the last with <c>"continues":true</c>. It must be called with <c>"more":true</c> (or
    /// <c>"oneway":true</c>); otherwise the answer is <c>org.varlink.service.ExpectedMore</c>. A sequence
    /// without items answers with one empty reply (<c>{"parameters":{}}</c>).
    /// </summary>
    /// <param name="name">The method name, e.g. <c>Monitor</c>.</param>
    /// <param name="parameters">The type of the call's parameters object.</param>
    /// <param name="reply">The type of each reply's parameters object.</param>
    /// <param name="method">The method; its <see cref="CancellationToken"/> is cancelled when the server stops.</param>
    /// <returns>This interface.</returns>
    /// <exception cref="ArgumentException">The name is not a method name or is taken.</exception>
    public VarlinkInterface AddStreamingMethod<TParameters, TReply>(
        string name,
        JsonTypeInfo<TParameters> parameters,
        JsonTypeInfo<TReply> reply,
        Func<TParameters, VarlinkCall, CancellationToken, IAsyncEnumerable<TReply>> method)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(reply);
        ArgumentNullException.ThrowIfNull(method);
        Add(name, async (call, cancellationToken) =>
        {
            if (!call.More && !call.OneWay)
            {
                throw VarlinkException.ExpectedMore();
            }

            TParameters input = ReadParameters(call, parameters);

            // One item behind: only the next item (or the end) tells whether a reply continues.
            bool any = false;
            TReply previous = default!;
            await foreach (TReply item in method(input, call, cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                if (any)
                {
                    await call.ReplyAsync(Writer(previous, reply), continues: true, cancellationToken).ConfigureAwait(false);
                }

                previous = item;
                any = true;
            }

            await call.ReplyAsync(any ? Writer(previous, reply) : null, continues: false, cancellationToken).ConfigureAwait(false);
        });
        return this;
    }

    internal bool TryGetMethod(string name, out Func<VarlinkCall, CancellationToken, ValueTask> method) =>
        _methods.TryGetValue(name, out method!);

    private void Add(string name, Func<VarlinkCall, CancellationToken, ValueTask> method)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!VarlinkNames.IsMember(name))
        {
            throw new ArgumentException($"'{name}' is not a Varlink method name (an upper-case letter, then letters and digits)", nameof(name));
        }

        if (!_methods.TryAdd(name, method))
        {
            throw new ArgumentException($"{Name}.{name} is added already", nameof(name));
        }
    }

    private static Action<Utf8JsonWriter> Writer<T>(T value, JsonTypeInfo<T> typeInfo) =>
        writer => JsonSerializer.Serialize(writer, value, typeInfo);

    /// <summary>
    /// The call's parameters as <typeparamref name="T"/>; unknown, missing required and mistyped fields
    /// are InvalidParameter with the field's name (V-7).
    /// </summary>
    internal static T ReadParameters<T>(VarlinkCall call, JsonTypeInfo<T> typeInfo)
    {
        JsonElement parameters = call.Parameters;
        if (typeInfo.Kind == JsonTypeInfoKind.Object)
        {
            IList<JsonPropertyInfo> known = typeInfo.Properties;
            foreach (JsonProperty given in parameters.EnumerateObject())
            {
                if (!known.Any(p => string.Equals(p.Name, given.Name, StringComparison.Ordinal)))
                {
                    throw VarlinkException.InvalidParameter(given.Name);
                }
            }

            foreach (JsonPropertyInfo property in known)
            {
                if (property.IsRequired && !parameters.TryGetProperty(property.Name, out _))
                {
                    throw VarlinkException.InvalidParameter(property.Name);
                }
            }
        }

        try
        {
            return parameters.Deserialize(typeInfo)!;
        }
        catch (JsonException e)
        {
            throw VarlinkException.InvalidParameter(FirstSegment(e.Path));
        }
        catch (InvalidOperationException)
        {
            throw VarlinkException.InvalidParameter("parameters");
        }
    }

    /// <summary>"$.level" or "$.items[2].name" → the top-level field; "$" → "parameters".</summary>
    private static string FirstSegment(string? path)
    {
        if (path is null || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            if (path is not null && path.StartsWith("$['", StringComparison.Ordinal))
            {
                int close = path.IndexOf("']", 3, StringComparison.Ordinal);
                return close > 3 ? path[3..close] : "parameters";
            }

            return "parameters";
        }

        int end = path.IndexOfAny(['.', '['], 2);
        return end < 0 ? path[2..] : path[2..end];
    }

    /// <summary>Whether a line of the IDL text (comments aside) is <c>interface NAME</c>.</summary>
    private static bool DeclaresInterface(string description, string name)
    {
        foreach (string line in description.Split('\n'))
        {
            string text = line.Trim();
            if (text.StartsWith("interface", StringComparison.Ordinal)
                && text.AsSpan(9).Trim().SequenceEqual(name))
            {
                return true;
            }
        }

        return false;
    }
}
