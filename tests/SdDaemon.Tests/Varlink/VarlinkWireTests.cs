using System.Buffers;
using System.Text;
using SdDaemon.Varlink;
using Xunit;

namespace SdDaemon.Tests.Varlink;

public class VarlinkWireTests
{
    private static string Reply(Action<System.Text.Json.Utf8JsonWriter>? parameters, bool continues)
    {
        var buffer = new ArrayBufferWriter<byte>();
        VarlinkWire.WriteReply(buffer, parameters, continues);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void V2_a_reply_is_one_object_with_parameters_and_a_NUL()
    {
        Assert.Equal("{\"parameters\":{\"a\":1}}\0", Reply(w => { w.WriteStartObject(); w.WriteNumber("a", 1); w.WriteEndObject(); }, continues: false));
    }

    [Fact]
    public void V2_a_reply_without_parameters_carries_an_empty_object_and_continues_only_when_asked()
    {
        Assert.Equal("{\"parameters\":{}}\0", Reply(null, continues: false));
        Assert.Equal("{\"parameters\":{},\"continues\":true}\0", Reply(null, continues: true));
    }

    [Fact]
    public void V2_an_error_names_the_error_and_its_parameters()
    {
        var buffer = new ArrayBufferWriter<byte>();
        VarlinkException.InvalidParameter("level").WriteTo(buffer);
        Assert.Equal("{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"level\"}}\0", Encoding.UTF8.GetString(buffer.WrittenSpan));

        buffer.Clear();
        VarlinkException.ExpectedMore().WriteTo(buffer);
        Assert.Equal("{\"error\":\"org.varlink.service.ExpectedMore\",\"parameters\":{}}\0", Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void V2_text_is_escaped_as_JSON_needs_and_nothing_more()
    {
        var buffer = new ArrayBufferWriter<byte>();
        VarlinkException.InvalidParameter("a\"b\n\0é").WriteTo(buffer);
        // No raw NUL can end the message early: the one NUL is the terminator.
        Assert.Equal(1, buffer.WrittenSpan.Count((byte)0));
        Assert.Equal((byte)0, buffer.WrittenSpan[^1]);
        using var document = System.Text.Json.JsonDocument.Parse(buffer.WrittenMemory[..^1]);
        Assert.Equal("a\"b\n\0é", document.RootElement.GetProperty("parameters").GetProperty("parameter").GetString());
    }

    [Fact]
    public void V1_a_call_has_its_method_parameters_and_flags()
    {
        using VarlinkRequest call = VarlinkWire.ParseCall("{\"method\":\"org.example.ftl.Monitor\",\"parameters\":{\"a\":[1]},\"more\":true}"u8.ToArray());
        Assert.Equal("org.example.ftl.Monitor", call.Method);
        Assert.Equal("{\"a\":[1]}", call.Parameters!.Value.GetRawText());
        Assert.True(call.More);
        Assert.False(call.OneWay);

        using VarlinkRequest oneway = VarlinkWire.ParseCall("{\"method\":\"a.b.C\",\"oneway\":true,\"parameters\":null}"u8.ToArray());
        Assert.True(oneway.OneWay);
        Assert.Null(oneway.Parameters);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "a JSON array, not an object")]
    [InlineData("{\"parameters\":{}}", "no \"method\"")]
    [InlineData("{\"method\":\"\"}", "no \"method\"")]
    [InlineData("{\"method\":7}", "\"method\" is a JSON number, not a string")]
    [InlineData("{\"method\":\"a.b.C\",\"parameters\":[1]}", "\"parameters\" is a JSON array, not an object")]
    [InlineData("{\"method\":\"a.b.C\",\"more\":\"yes\"}", "\"more\" is a JSON string, not a boolean")]
    [InlineData("{\"method\":\"a.b.C\",\"bogus\":1}", "unknown field \"bogus\"")]
    [InlineData("{\"method\":\"a.b.C\",\"more\":true,\"oneway\":true}", "both \"more\" and \"oneway\"")]
    [InlineData("{\"method\":\"a.b.C\"", "not valid JSON")]
    public void V3_what_is_no_call_is_a_protocol_error_that_says_what_is_wrong(string message, string expected)
    {
        var error = Assert.Throws<VarlinkProtocolException>(() => VarlinkWire.ParseCall(Encoding.UTF8.GetBytes(message)));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void V3_nesting_beyond_the_bound_is_refused_without_a_stack_overflow()
    {
        string deep = "{\"method\":\"a.b.C\",\"parameters\":{\"x\":" + new string('[', 100_000) + new string(']', 100_000) + "}}";
        Assert.Throws<VarlinkProtocolException>(() => VarlinkWire.ParseCall(Encoding.UTF8.GetBytes(deep)));
    }

    [Fact]
    public void V1_the_reader_splits_at_each_NUL_across_any_chunking()
    {
        byte[] stream = "{\"method\":\"a.b.C\"}\0{\"method\":\"a.b.D\"}\0{\"method\""u8.ToArray();
        var reader = new VarlinkWire.MessageReader(1024);
        var messages = new List<string>();
        foreach (byte b in stream)
        {
            // One byte at a time: the worst chunking a stream socket can produce.
            Memory<byte> space = reader.FreeSpace();
            space.Span[0] = b;
            reader.Advance(1);
            while (reader.TryRead(out ReadOnlyMemory<byte> message))
            {
                messages.Add(Encoding.UTF8.GetString(message.Span));
            }
        }

        Assert.Equal(["{\"method\":\"a.b.C\"}", "{\"method\":\"a.b.D\"}"], messages);
        Assert.Equal("{\"method\"".Length, reader.Pending);
    }

    [Fact]
    public void V5_a_message_of_the_bound_passes_and_one_byte_more_is_refused()
    {
        const int max = 100;
        var reader = new VarlinkWire.MessageReader(max);
        Feed(reader, new string('x', max) + "\0");
        Assert.True(reader.TryRead(out ReadOnlyMemory<byte> message));
        Assert.Equal(max, message.Length);

        var tooLong = new VarlinkWire.MessageReader(max);
        Feed(tooLong, new string('x', max + 1));
        var error = Assert.Throws<VarlinkProtocolException>(() => tooLong.TryRead(out _));
        Assert.Equal("a message is longer than 100 bytes", error.Message);
    }

    [Fact]
    public void V5_the_buffer_never_grows_beyond_the_bound_while_a_client_sends_without_a_NUL()
    {
        const int max = 200_000;
        var reader = new VarlinkWire.MessageReader(max);
        int total = 0;
        while (true)
        {
            Memory<byte> space = reader.FreeSpace();
            Assert.True(total + space.Length <= max + 1, "room beyond one maximal message and its NUL");
            space.Span.Fill((byte)'x');
            reader.Advance(space.Length);
            total += space.Length;
            if (total > max)
            {
                Assert.Throws<VarlinkProtocolException>(() => reader.TryRead(out _));
                return;
            }

            Assert.False(reader.TryRead(out _));
        }
    }

    private static void Feed(VarlinkWire.MessageReader reader, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        int offset = 0;
        while (offset < bytes.Length)
        {
            Memory<byte> space = reader.FreeSpace();
            int count = Math.Min(space.Length, bytes.Length - offset);
            bytes.AsSpan(offset, count).CopyTo(space.Span);
            reader.Advance(count);
            offset += count;
        }
    }

    [Theory]
    [InlineData("org.example.ftl", true)]
    [InlineData("io.systemd.service", true)]
    [InlineData("a.b", true)]
    [InlineData("org.example-1.x2", true)]
    [InlineData("a.1b", true)]
    [InlineData("org", false)]
    [InlineData("1a.b", false)]
    [InlineData("a..b", false)]
    [InlineData("a.b.", false)]
    [InlineData("a.b-", false)]
    [InlineData("a.-b", false)]
    [InlineData("a.b_c", false)]
    public void V6_interface_names_follow_the_IDL_grammar(string name, bool valid)
    {
        Assert.Equal(valid, VarlinkNames.IsInterface(name));
    }
}
