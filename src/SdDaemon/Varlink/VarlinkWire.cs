using System.Buffers;
using System.Text.Json;

namespace SdDaemon.Varlink;

/// <summary>
/// The Varlink wire format, in one place (spec V-1 .. V-4 in docs/protocol.md,
/// <see href="https://varlink.org/Method-Call">varlink.org: Method Call</see>): every message is one
/// JSON object followed by a NUL byte on a stream socket. A call is
/// <c>{"method":"iface.Method","parameters":{...},"more":true|"oneway":true}</c>; a reply is
/// <c>{"parameters":{...}}</c>, with <c>"continues":true</c> while more replies follow, or
/// <c>{"error":"iface.Error","parameters":{...}}</c>.
/// </summary>
internal static class VarlinkWire
{
    /// <summary>The message terminator (V-1).</summary>
    public const byte Terminator = 0;

    /// <summary>Largest message accepted by default: sd-varlink's VARLINK_BUFFER_MAX (16 MiB) (V-5).</summary>
    public const int DefaultMessageMax = 16 * 1024 * 1024;

    /// <summary>Nesting depth a call may have: the parameters of any sane interface stay far below.</summary>
    private const int MaxDepth = 64;

    // JSON needs escapes for quotes, backslashes and control characters only; the default encoder
    // also escapes HTML's characters and all non-ASCII, which turns "->" of an interface description
    // into "-\u003E". The relaxed one writes text as it is, as sd-varlink does: still valid JSON.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Parses one message (without its NUL) as a call. Anything that is not a call as the spec and
    /// sd-varlink define it (not a JSON object, no string "method", "parameters" not an object, a
    /// field that is not a boolean where one is expected, an unknown field, "more" with "oneway")
    /// is a protocol error: sd-varlink closes the connection without a reply, and so does the
    /// server (V-3), because no reply can be addressed to a call that is not one.
    /// </summary>
    /// <exception cref="VarlinkProtocolException">The message is not a valid call; says what is wrong.</exception>
    public static VarlinkRequest ParseCall(ReadOnlyMemory<byte> message)
    {
        JsonDocument document;
        try
        {
            // A copy: the document keeps the memory it parses, and the connection's buffer is reused.
            document = JsonDocument.Parse(message.ToArray(), new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw new VarlinkProtocolException($"the message is not valid JSON: {e.Message}");
        }

        try
        {
            return ReadCall(document);
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    private static VarlinkRequest ReadCall(JsonDocument document)
    {
        JsonElement root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new VarlinkProtocolException($"the message is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object");
        }

        string? method = null;
        JsonElement? parameters = null;
        bool more = false, oneway = false, upgrade = false;
        foreach (JsonProperty property in root.EnumerateObject())
        {
            switch (property.Name)
            {
                case "method" when property.Value.ValueKind == JsonValueKind.String:
                    method = property.Value.GetString();
                    break;
                case "parameters" when property.Value.ValueKind == JsonValueKind.Object:
                    parameters = property.Value;
                    break;
                case "parameters" when property.Value.ValueKind == JsonValueKind.Null:
                    break;
                case "more":
                    more = Flag(property);
                    break;
                case "oneway":
                    oneway = Flag(property);
                    break;
                case "upgrade":
                    upgrade = Flag(property);
                    break;
                case "method" or "parameters":
                    throw new VarlinkProtocolException($"\"{property.Name}\" is a JSON {property.Value.ValueKind.ToString().ToLowerInvariant()}, not a{(property.Name == "method" ? " string" : "n object")}");
                default:
                    throw new VarlinkProtocolException($"unknown field \"{property.Name}\" in a call");
            }
        }

        if (string.IsNullOrEmpty(method))
        {
            throw new VarlinkProtocolException("the call has no \"method\"");
        }

        if (more && oneway)
        {
            throw new VarlinkProtocolException("a call cannot be both \"more\" and \"oneway\"");
        }

        return new VarlinkRequest(document, method, parameters, more, oneway, upgrade);
    }

    private static bool Flag(JsonProperty property) => property.Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null => false,
        _ => throw new VarlinkProtocolException($"\"{property.Name}\" is a JSON {property.Value.ValueKind.ToString().ToLowerInvariant()}, not a boolean"),
    };

    /// <summary>Writes <c>{"parameters":{...}[,"continues":true]}</c> and the NUL (V-2).</summary>
    /// <param name="output">Receives the whole message.</param>
    /// <param name="writeParameters">Writes one JSON object (the reply's parameters); null writes <c>{}</c>.</param>
    /// <param name="continues">More replies follow (a call with "more").</param>
    public static void WriteReply(IBufferWriter<byte> output, Action<Utf8JsonWriter>? writeParameters, bool continues)
    {
        using (var writer = new Utf8JsonWriter(output, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("parameters");
            WriteObject(writer, writeParameters);
            if (continues)
            {
                writer.WriteBoolean("continues", true);
            }

            writer.WriteEndObject();
        }

        Terminate(output);
    }

    /// <summary>Writes <c>{"error":"NAME","parameters":{...}}</c> and the NUL (V-2).</summary>
    public static void WriteError(IBufferWriter<byte> output, string error, Action<Utf8JsonWriter>? writeParameters)
    {
        using (var writer = new Utf8JsonWriter(output, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("error", error);
            writer.WritePropertyName("parameters");
            WriteObject(writer, writeParameters);
            writer.WriteEndObject();
        }

        Terminate(output);
    }

    private static void WriteObject(Utf8JsonWriter writer, Action<Utf8JsonWriter>? writeParameters)
    {
        if (writeParameters is null)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
            return;
        }

        long before = writer.BytesPending + writer.BytesCommitted;
        writeParameters(writer);
        if (writer.BytesPending + writer.BytesCommitted == before)
        {
            throw new InvalidOperationException("the reply's parameters wrote nothing; a Varlink reply needs a JSON object");
        }
    }

    private static void Terminate(IBufferWriter<byte> output)
    {
        output.GetSpan(1)[0] = Terminator;
        output.Advance(1);
    }

    /// <summary>
    /// Splits the bytes of one connection into messages at each NUL (V-1), with a bound on the size
    /// of one message (V-5): a peer that sends more than that without a NUL is refused instead of
    /// growing the buffer without end.
    /// </summary>
    internal sealed class MessageReader
    {
        private readonly int _messageMax;
        private byte[] _buffer;
        private int _start;
        private int _end;

        public MessageReader(int messageMax)
        {
            _messageMax = messageMax;
            _buffer = new byte[Math.Min(messageMax + 1, 64 * 1024)];
        }

        /// <summary>Where the next receive writes; never empty.</summary>
        public Memory<byte> FreeSpace()
        {
            if (_start > 0 && _start == _end)
            {
                _start = _end = 0;
            }

            if (_end == _buffer.Length)
            {
                if (_start > 0)
                {
                    // Move the partial message to the front instead of growing.
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                else
                {
                    // Room for one message of the maximum size and its NUL, no more.
                    Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, _messageMax + 1L));
                }
            }

            return _buffer.AsMemory(_end);
        }

        /// <summary>Counts <paramref name="count"/> received bytes into the buffer.</summary>
        public void Advance(int count) => _end += count;

        /// <summary>The next complete message (without its NUL), valid until the next call; false when
        /// none is complete yet.</summary>
        /// <exception cref="VarlinkProtocolException">A message is longer than the bound.</exception>
        public bool TryRead(out ReadOnlyMemory<byte> message)
        {
            int length = _buffer.AsSpan(_start, _end - _start).IndexOf(Terminator);
            if (length < 0)
            {
                message = default;
                if (_end - _start > _messageMax)
                {
                    throw new VarlinkProtocolException($"a message is longer than {_messageMax} bytes");
                }

                return false;
            }

            if (length > _messageMax)
            {
                throw new VarlinkProtocolException($"a message is longer than {_messageMax} bytes");
            }

            message = _buffer.AsMemory(_start, length);
            _start += length + 1;
            return true;
        }

        /// <summary>Bytes received that belong to no complete message yet.</summary>
        public int Pending => _end - _start;
    }
}

/// <summary>One parsed call; owns the document its parameters live in.</summary>
internal sealed class VarlinkRequest(JsonDocument document, string method, JsonElement? parameters, bool more, bool oneway, bool upgrade) : IDisposable
{
    public string Method { get; } = method;

    /// <summary>The parameters object; null when the call had none (the same as <c>{}</c>).</summary>
    public JsonElement? Parameters { get; } = parameters;

    public bool More { get; } = more;

    public bool OneWay { get; } = oneway;

    public bool Upgrade { get; } = upgrade;

    public void Dispose() => document.Dispose();
}

/// <summary>The peer broke the protocol; the connection is closed (V-3).</summary>
internal sealed class VarlinkProtocolException(string message) : Exception(message);
