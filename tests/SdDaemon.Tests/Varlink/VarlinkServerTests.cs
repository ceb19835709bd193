using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using SdDaemon.Varlink;
using Xunit;

namespace SdDaemon.Tests.Varlink;

public sealed partial class VarlinkServerTests : IAsyncLifetime
{
    private const string FtlDescription = """
        # Test interface.
        interface org.example.ftl

        method Add(a: int, b: int) -> (sum: int)

        method Count(upTo: int) -> (n: int)

        method Fail() -> ()

        method Slow() -> ()

        error NotReady(reason: string)
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("sdd-varlink-").FullName;
    private readonly ConcurrentQueue<VarlinkServerErrorEventArgs> _errors = new();
    private VarlinkServer _server = null!;
    private string _path = "";

    public sealed class AddParameters
    {
        [JsonPropertyName("a")]
        public required long A { get; init; }

        [JsonPropertyName("b")]
        public required long B { get; init; }
    }

    public sealed record Sum([property: JsonPropertyName("sum")] long Value);

    public sealed class CountParameters
    {
        [JsonPropertyName("upTo")]
        public int UpTo { get; init; }
    }

    public sealed record Number([property: JsonPropertyName("n")] int N);

    public sealed record NotReady([property: JsonPropertyName("reason")] string Reason);

    [JsonSerializable(typeof(AddParameters))]
    [JsonSerializable(typeof(Sum))]
    [JsonSerializable(typeof(CountParameters))]
    [JsonSerializable(typeof(Number))]
    [JsonSerializable(typeof(NotReady))]
    internal sealed partial class TestJson : JsonSerializerContext;

    public Task InitializeAsync() => Start(new VarlinkServerOptions { Vendor = "SdDaemon tests", Product = "ftl", Version = "1.2.3", Url = "https://example.org/" });

    private async Task Start(VarlinkServerOptions options)
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _server = new VarlinkServer(options);
        _server.Error += (_, e) => _errors.Enqueue(e);
        _server.AddInterface(new VarlinkInterface("org.example.ftl", FtlDescription)
            .AddMethod("Add", TestJson.Default.AddParameters, TestJson.Default.Sum, (p, _, _) => ValueTask.FromResult(new Sum(p.A + p.B)))
            .AddStreamingMethod("Count", TestJson.Default.CountParameters, TestJson.Default.Number, (p, _, ct) => Count(p.UpTo, ct))
            .AddMethod("Fail", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) =>
                throw VarlinkException.Create("org.example.ftl.NotReady", new NotReady("warming up"), TestJson.Default.NotReady))
            .AddMethod<VarlinkEmpty, VarlinkEmpty>("Crash", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => throw new InvalidOperationException("bug in the method"))
            .AddMethod("Slow", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, async (_, _, ct) =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return VarlinkEmpty.Instance;
            }));
        _path = Path.Combine(_directory, $"org.example.ftl.{Guid.NewGuid():N}");
        _server.Listen(VarlinkListener.Bind(_path));
    }

    private static async IAsyncEnumerable<Number> Count(int upTo, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 1; i <= upTo; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new Number(i);
        }
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private VarlinkTestClient Connect() => new(_path);

    [Fact]
    public void V4_GetInfo_reports_the_options_and_every_interface_sorted()
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal(
            "{\"parameters\":{\"vendor\":\"SdDaemon tests\",\"product\":\"ftl\",\"version\":\"1.2.3\",\"url\":\"https://example.org/\",\"interfaces\":[\"org.example.ftl\",\"org.varlink.service\"]}}\0",
            client.Call("{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{}}"));
    }

    [Fact]
    public void V4_GetInterfaceDescription_serves_the_text_given_and_InterfaceNotFound_otherwise()
    {
        using VarlinkTestClient client = Connect();
        string reply = client.Call("{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"org.example.ftl\"}}");
        Assert.Equal("{\"parameters\":{\"description\":\"" + FtlDescription.Replace("\n", "\\n") + "\"}}\0", reply);

        Assert.Equal(
            "{\"error\":\"org.varlink.service.InterfaceNotFound\",\"parameters\":{\"interface\":\"org.example.nope\"}}\0",
            client.Call("{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"org.example.nope\"}}"));
    }

    [Fact]
    public void V4_org_varlink_service_describes_itself_as_systemd_262_does()
    {
        using VarlinkTestClient client = Connect();
        string reply = client.Call("{\"method\":\"org.varlink.service.GetInterfaceDescription\",\"parameters\":{\"interface\":\"org.varlink.service\"}}");
        Assert.StartsWith("{\"parameters\":{\"description\":\"# General Varlink service interface\\ninterface org.varlink.service\\n\\n# Get service meta information\\nmethod GetInfo() -> (\\n\\t# String identifying the vendor", reply);
        Assert.EndsWith("error ExpectedMore()\\n\"}}\0", reply);
    }

    [Fact]
    public void V4_a_method_gets_its_typed_parameters_and_replies_with_its_result()
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{\"sum\":5}}\0", client.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":2,\"b\":3}}"));
        // "more" on a one-reply method: one reply without continues, as sd-varlink does.
        Assert.Equal("{\"parameters\":{\"sum\":7}}\0", client.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":3,\"b\":4},\"more\":true}"));
    }

    [Theory]
    [InlineData("{\"method\":\"org.example.ftl.Nope\",\"parameters\":{}}", "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"org.example.ftl.Nope\"}}\0")]
    [InlineData("{\"method\":\"org.example.nope.Add\",\"parameters\":{}}", "{\"error\":\"org.varlink.service.InterfaceNotFound\",\"parameters\":{\"interface\":\"org.example.nope\"}}\0")]
    [InlineData("{\"method\":\"bad\",\"parameters\":{}}", "{\"error\":\"org.varlink.service.MethodNotFound\",\"parameters\":{\"method\":\"bad\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":2,\"c\":3}}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"c\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1}}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"b\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":\"one\",\"b\":2}}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"a\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":1.5}}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"b\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\"}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"a\"}}\0")]
    [InlineData("{\"method\":\"org.varlink.service.GetInfo\",\"parameters\":{\"x\":1}}", "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":{\"parameter\":\"x\"}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Count\",\"parameters\":{\"upTo\":2}}", "{\"error\":\"org.varlink.service.ExpectedMore\",\"parameters\":{}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Fail\",\"parameters\":{}}", "{\"error\":\"org.example.ftl.NotReady\",\"parameters\":{\"reason\":\"warming up\"}}\0")]
    public void V7_errors_are_the_ones_the_spec_defines_with_their_parameters(string call, string expected)
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal(expected, client.Call(call));
        // The connection stays usable after an error reply.
        Assert.Equal("{\"parameters\":{\"sum\":2}}\0", client.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":1}}"));
    }

    [Fact]
    public void V7_a_methods_own_socket_error_or_cancellation_is_its_failure_not_the_connections()
    {
        _server.AddInterface(new VarlinkInterface("org.example.net", "interface org.example.net\nmethod Fetch() -> ()\nmethod Give() -> ()\n")
            .AddMethod<VarlinkEmpty, VarlinkEmpty>("Fetch", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => throw new System.Net.Sockets.SocketException(111))
            .AddMethod<VarlinkEmpty, VarlinkEmpty>("Give", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => throw new OperationCanceledException()));
        using VarlinkTestClient client = Connect();
        const string eio = "{\"error\":\"io.systemd.System\",\"parameters\":{\"errno\":5,\"errnoName\":\"EIO\"}}\0";
        Assert.Equal(eio, client.Call("{\"method\":\"org.example.net.Fetch\"}"));
        Assert.Equal(eio, client.Call("{\"method\":\"org.example.net.Give\"}"));
        Assert.Equal(2, _errors.Count(e => e.Kind == VarlinkServerErrorKind.MethodFailed));
    }

    [Fact]
    public void V7_a_method_that_throws_answers_io_systemd_System_EIO_and_is_reported()
    {
        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"error\":\"io.systemd.System\",\"parameters\":{\"errno\":5,\"errnoName\":\"EIO\"}}\0", client.Call("{\"method\":\"org.example.ftl.Crash\"}"));
        VarlinkServerErrorEventArgs error = Assert.Single(_errors);
        Assert.Equal(VarlinkServerErrorKind.MethodFailed, error.Kind);
        Assert.Equal("org.example.ftl.Crash", error.Method);
        Assert.Equal("bug in the method", error.Exception.Message);
    }

    [Fact]
    public void V4_more_streams_replies_with_continues_until_the_last()
    {
        using VarlinkTestClient client = Connect();
        client.Send("{\"method\":\"org.example.ftl.Count\",\"parameters\":{\"upTo\":3},\"more\":true}\0");
        Assert.Equal("{\"parameters\":{\"n\":1},\"continues\":true}\0", client.Receive());
        Assert.Equal("{\"parameters\":{\"n\":2},\"continues\":true}\0", client.Receive());
        Assert.Equal("{\"parameters\":{\"n\":3}}\0", client.Receive());
        Assert.True(client.IsQuiet(100));

        // No items: one empty final reply.
        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"org.example.ftl.Count\",\"parameters\":{\"upTo\":0},\"more\":true}"));
    }

    [Fact]
    public void V4_oneway_calls_get_no_reply_not_even_an_error_and_pipelined_calls_are_answered_in_order()
    {
        using VarlinkTestClient client = Connect();
        client.Send(
            "{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":1},\"oneway\":true}\0"
            + "{\"method\":\"org.example.ftl.Nope\",\"oneway\":true}\0"
            + "{\"method\":\"org.example.ftl.Count\",\"parameters\":{\"upTo\":2},\"oneway\":true}\0"
            + "{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":2,\"b\":2}}\0"
            + "{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":3,\"b\":3}}\0");
        Assert.Equal("{\"parameters\":{\"sum\":4}}\0", client.Receive());
        Assert.Equal("{\"parameters\":{\"sum\":6}}\0", client.Receive());
        Assert.True(client.IsQuiet(100));
    }

    [Theory]
    [InlineData("not json\0")]
    [InlineData("[1,2]\0")]
    [InlineData("{\"parameters\":{}}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"parameters\":[1]}\0")]
    [InlineData("{\"method\":\"org.example.ftl.Add\",\"bogus\":1}\0")]
    [InlineData("\0")]
    public void V3_a_malformed_message_closes_that_connection_reports_why_and_others_go_on(string message)
    {
        using VarlinkTestClient other = Connect();
        using VarlinkTestClient client = Connect();
        client.Send(message);
        Assert.Null(client.Receive());
        Assert.Equal("{\"parameters\":{\"sum\":3}}\0", other.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":2}}"));
        VarlinkServerErrorEventArgs error = Assert.Single(_errors);
        Assert.Equal(VarlinkServerErrorKind.ProtocolError, error.Kind);
        Assert.IsType<VarlinkProtocolException>(error.Exception);
    }

    [Fact]
    public async Task V5_an_oversized_message_closes_the_connection_and_one_of_the_bound_is_served()
    {
        await Start(new VarlinkServerOptions { MessageMax = 4096 });
        string call = "{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":2}}";
        string padded = call[..^1] + new string(' ', 4096 - call.Length) + "}";
        Assert.Equal(4096, padded.Length);
        using (VarlinkTestClient client = Connect())
        {
            Assert.Equal("{\"parameters\":{\"sum\":3}}\0", client.Call(padded));
        }

        using (VarlinkTestClient client = Connect())
        {
            client.Send(new string(' ', 5000));
            Assert.Null(client.Receive());
        }

        VarlinkServerErrorEventArgs error = Assert.Single(_errors);
        Assert.Equal("a message is longer than 4096 bytes", error.Exception.Message);
    }

    [Fact]
    public void V8_a_stalled_client_and_a_slow_method_do_not_block_other_connections()
    {
        using VarlinkTestClient half = Connect();
        half.Send("{\"method\":\"org.example.ftl.Add\""); // never finished
        using VarlinkTestClient slow = Connect();
        slow.Send("{\"method\":\"org.example.ftl.Slow\"}\0");
        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{\"sum\":3}}\0", client.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":2}}"));
    }

    [Fact]
    public async Task V8_a_client_that_does_not_read_its_replies_loses_its_connection_after_the_send_timeout()
    {
        await Start(new VarlinkServerOptions { SendTimeout = TimeSpan.FromMilliseconds(300) });
        using VarlinkTestClient client = Connect();
        // A stream of replies far larger than the socket buffers, never read.
        client.Send("{\"method\":\"org.example.ftl.Count\",\"parameters\":{\"upTo\":10000000},\"more\":true}\0");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (_errors.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        VarlinkServerErrorEventArgs error = Assert.Single(_errors);
        Assert.Equal(VarlinkServerErrorKind.ProtocolError, error.Kind);
        Assert.Equal("the client did not read its replies for 0.3 s", error.Exception.Message);
    }

    [Fact]
    public async Task V8_connections_beyond_the_bound_are_closed_at_once_and_reported()
    {
        await Start(new VarlinkServerOptions { ConnectionsMax = 1 });
        using VarlinkTestClient first = Connect();
        Assert.Equal("{\"parameters\":{\"sum\":2}}\0", first.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":1}}"));
        using VarlinkTestClient second = Connect();
        Assert.Null(second.Receive());
        Assert.Equal(VarlinkServerErrorKind.TooManyConnections, Assert.Single(_errors).Kind);
    }

    [Fact]
    public async Task Dispose_cancels_running_methods_and_closes_connections()
    {
        using VarlinkTestClient slow = Connect();
        slow.Send("{\"method\":\"org.example.ftl.Slow\"}\0");
        await Task.Delay(100);
        Task disposing = _server.DisposeAsync().AsTask();
        Assert.Same(disposing, await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Null(slow.Receive());
    }

    [Fact]
    public void The_peer_of_a_connection_the_server_closed_before_serving_it_is_unknown_not_an_exception()
    {
        // DisposeAsync closes every accepted socket, also one whose task has not run yet; that task then read the
        // peer's credentials from the closed socket and its ObjectDisposedException came out of DisposeAsync (seen in CI).
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(Path.Combine(_directory, "closed")));
        listener.Listen();
        using var client = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        client.Connect(listener.LocalEndPoint!);
        System.Net.Sockets.Socket accepted = listener.Accept();
        Assert.Equal(Environment.ProcessId, VarlinkPeer.Of(accepted)!.Value.Pid);
        accepted.Dispose();
        Assert.Null(VarlinkPeer.Of(accepted));
    }

    [Fact]
    public void V4_the_peer_is_the_connecting_process()
    {
        VarlinkPeer? seen = null;
        _server.AddInterface(new VarlinkInterface("org.example.who", "interface org.example.who\nmethod Who() -> ()\n")
            .AddMethod("Who", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, call, _) =>
            {
                seen = call.Peer;
                Assert.True(call.IsPeerPrivileged);
                return VarlinkEmpty.Completed;
            }));
        using VarlinkTestClient client = Connect();
        Assert.Equal("{\"parameters\":{}}\0", client.Call("{\"method\":\"org.example.who.Who\"}"));
        Assert.Equal(Environment.ProcessId, seen!.Value.Pid);
        Assert.Equal(SdDaemon.Interop.Libc.GetEUid(), seen.Value.Uid);
    }

    [Fact]
    public void Interfaces_and_methods_are_validated_when_added()
    {
        Assert.Throws<ArgumentException>(() => new VarlinkInterface("nodots", "interface nodots"));
        Assert.Throws<ArgumentException>(() => new VarlinkInterface("org.example.a", "interface org.example.b"));
        var definition = new VarlinkInterface("org.example.a", "# c\ninterface org.example.a\n");
        Assert.Throws<ArgumentException>(() => definition.AddMethod("lower", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => VarlinkEmpty.Completed));
        definition.AddMethod("Upper", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => VarlinkEmpty.Completed);
        Assert.Throws<ArgumentException>(() => definition.AddMethod("Upper", VarlinkEmpty.TypeInfo, VarlinkEmpty.TypeInfo, (_, _, _) => VarlinkEmpty.Completed));
        Assert.Throws<ArgumentException>(() => _server.AddInterface(new VarlinkInterface("org.example.ftl", "interface org.example.ftl")));
        Assert.Throws<ArgumentException>(() => new VarlinkException("NotQualified"));
    }

    [Fact]
    public void V9_Bind_replaces_a_stale_socket_but_never_another_file()
    {
        string stale = Path.Combine(_directory, "stale");
        VarlinkListener.Bind(stale).Dispose(); // leaves the socket file behind, as a killed instance would
        using (System.Net.Sockets.Socket again = VarlinkListener.Bind(stale))
        {
            Assert.True(again.IsBound);
        }

        string regular = Path.Combine(_directory, "regular");
        File.WriteAllText(regular, "keep");
        Assert.Throws<IOException>(() => VarlinkListener.Bind(regular));
        Assert.Equal("keep", File.ReadAllText(regular));
    }

    [Fact]
    public void V9_Register_links_the_interface_name_to_the_socket_and_Unregister_removes_only_its_own()
    {
        string registry = Path.Combine(_directory, "varlink", "registry");
        string link = VarlinkListener.Register("org.example.ftl", _path, registry);
        Assert.Equal(Path.Combine(registry, "org.example.ftl"), link);
        Assert.Equal(_path, new FileInfo(link).LinkTarget);
        using (VarlinkTestClient client = new(link))
        {
            Assert.Equal("{\"parameters\":{\"sum\":2}}\0", client.Call("{\"method\":\"org.example.ftl.Add\",\"parameters\":{\"a\":1,\"b\":1}}"));
        }

        VarlinkListener.Unregister(link, "/run/other/socket");
        Assert.True(File.Exists(link) || Directory.Exists(link) || new FileInfo(link).LinkTarget is not null);
        VarlinkListener.Unregister(link, _path);
        Assert.Null(new FileInfo(link).LinkTarget);
    }
}
