using System.Text;
using System.Text.Json;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>Pure logic, no server.</summary>
public sealed class UnitTests
{
    [Fact]
    public void Link_header_next_query_is_found_among_other_rels()
    {
        var header = "<./messages?limit=2&direction=backwards>; rel=\"first\", <./messages?limit=2&direction=backwards>; rel=\"current\", "
            + "<./messages?limit=2&direction=backwards&cursor=0001-000000000003>; rel=\"next\"";
        Assert.Equal("limit=2&direction=backwards&cursor=0001-000000000003", LinkHeader.NextQuery([header]));
        Assert.Null(LinkHeader.NextQuery(["<./messages?limit=2>; rel=\"first\""]));
        Assert.Null(LinkHeader.NextQuery([]));
        Assert.Equal("a=1", LinkHeader.NextQuery(["<./messages?x=1>; rel=\"first\"", "<./messages?a=1>; rel=\"next\""]));
    }

    [Theory]
    [InlineData("json", "{\"a\":1}", "json")]
    [InlineData("json/utf-8", null, "json")]
    [InlineData("utf-8", null, null)]
    [InlineData("cipher+aes-128-cbc", null, "cipher+aes-128-cbc")]
    public void Received_encodings_are_undone_right_to_left_keeping_json_as_the_marker(string encoding, string? text, string? remaining)
    {
        var message = new Message
        {
            Encoding = encoding,
            Data = text is null ? MessageData.FromBytes(Encoding.UTF8.GetBytes("{\"a\":1}")) : MessageData.FromText(text),
        };
        PayloadCodec.Decode(message);
        Assert.Equal(remaining, message.Encoding);
        if (remaining == "json")
        {
            Assert.Equal(1, message.GetJson()!.Value.GetProperty("a").GetInt32());
        }
        else if (remaining is null)
        {
            Assert.Equal("{\"a\":1}", message.GetText());
        }
    }

    [Fact]
    public void Nested_base64_is_decoded()
    {
        var message = new Message { Encoding = "utf-8/base64", Data = MessageData.FromText(Convert.ToBase64String("hi"u8.ToArray())) };
        PayloadCodec.Decode(message);
        Assert.Null(message.Encoding);
        Assert.Equal("hi", message.GetText());
    }

    [Fact]
    public void Publish_data_is_text_bytes_or_json_and_extras_must_be_an_object()
    {
        var options = JsonSerializerOptions.Web;
        Assert.Equal((MessageData.FromText("s"), (string?)null), PayloadCodec.EncodeData("s", options));
        Assert.True(PayloadCodec.EncodeData(new byte[] { 1 }, options).Data.IsBinary);
        Assert.Equal((MessageData.FromText("{\"tokenCount\":2}"), "json"), PayloadCodec.EncodeData(new { TokenCount = 2 }, options));
        Assert.Equal("json", PayloadCodec.EncodeData(JsonDocument.Parse("[1]").RootElement, options).Encoding);
        Assert.Equal("{\"headers\":{\"k\":\"v\"}}", PayloadCodec.EncodeExtras(new { headers = new { k = "v" } }, options)!.ToString());
        Assert.Throws<ArgumentException>(() => PayloadCodec.EncodeExtras("{}", options));
        Assert.Throws<ArgumentException>(() => PayloadCodec.EncodeExtras(new[] { 1 }, options));
    }

    [Fact]
    public void Retry_delays_back_off_to_twice_the_timeout_with_jitter()
    {
        var timeout = TimeSpan.FromSeconds(15);
        for (var i = 0; i < 100; i++)
        {
            var first = Backoff.RetryDelay(timeout, 1);
            Assert.InRange(first, timeout * 0.8, timeout);
            var late = Backoff.RetryDelay(timeout, 10);
            Assert.InRange(late, timeout * 1.6, timeout * 2);
        }
    }

    [Fact]
    public void Options_are_validated_and_customised_with_with()
    {
        Assert.Throws<ArgumentException>(() => new RealtimeClient(RealtimeClientOptions.Default));
        Assert.Throws<ArgumentException>(() => new RestClient("not-a-key"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RestClient(RealtimeClientOptions.Default with { Key = "a.b:c", Port = 0 }));
        var options = RealtimeClientOptions.Default with { Key = "a.b:c", Endpoint = "example.test" };
        Assert.True(options.Tls);
        Assert.True(options.UseBinaryProtocol);
        Assert.Equal(443, options.EffectivePort);
        Assert.Equal(TimeSpan.FromSeconds(15), options.DisconnectedRetryTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), options.RealtimeRequestTimeout);

        // A token callback replaces the key.
        _ = new RestClient(RealtimeClientOptions.Default with { AuthCallback = _ => ValueTask.FromResult("token") });
    }

    [Fact]
    public async Task The_websocket_url_carries_auth_resume_format_and_protocol_version()
    {
        await using var client = new RealtimeClient(RealtimeClientOptions.Default with
        {
            Key = "app.key:se/cret",
            ClientId = "alice",
            EchoMessages = false,
            Endpoint = "127.0.0.1",
            Port = 8089,
            Tls = false,
            UseBinaryProtocol = false,
            TransportParams = new Dictionary<string, string> { ["appendRollupWindow"] = "100" },
        });
        var uri = client.Connection.RealtimeUri(new("key", "app.key:se/cret"), "conn!secret");
        Assert.EndsWith("&appendRollupWindow=100", uri.Query, StringComparison.Ordinal);
        Assert.Equal("ws", uri.Scheme);
        Assert.Equal(8089, uri.Port);
        Assert.Equal("/", uri.AbsolutePath);
        Assert.StartsWith("?key=app.key%3Ase%2Fcret&resume=conn%21secret&clientId=alice&echo=false&format=json&heartbeats=true&v=6&agent=tokenwire-dotnet%2F", uri.Query, StringComparison.Ordinal);

        var token = client.Connection.RealtimeUri(new("access_token", "tok"), null);
        Assert.Contains("access_token=tok&", token.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("resume=", token.Query, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(WireFormat.Json)]
    [InlineData(WireFormat.MessagePack)]
    public void Only_the_client_codecs_read_a_message_summary_so_a_server_never_takes_one_from_a_client(WireFormat format)
    {
        var frame = new ProtocolMessage(ProtocolAction.Message)
        {
            Channel = "c",
            Messages = [new Message { Action = MessageActions.Summary, Serial = "s1", Annotations = JsonPayload.Parse("""{"summary":{"r:total.v1":{"total":2}}}""") }],
        };
        var bytes = ProtocolCodecs.For(format).Encode(frame);
        var fromServer = format == WireFormat.Json ? ProtocolCodecs.JsonFromServer : ProtocolCodecs.MessagePackFromServer;

        Assert.Equal(new SummaryTotal(2), fromServer.Decode(bytes).Messages![0].GetSummary()!.GetTotal("r:total.v1"));
        Assert.Null(ProtocolCodecs.For(format).Decode(bytes).Messages![0].Annotations);
        var body = ProtocolCodecs.For(format).EncodeMessages(frame.Messages);
        Assert.NotNull(fromServer.ReadMessages(new System.Buffers.ReadOnlySequence<byte>(body))[0].Annotations);
        Assert.Null(ProtocolCodecs.For(format).ReadMessages(new System.Buffers.ReadOnlySequence<byte>(body))[0].Annotations);
    }

    [Theory]
    [InlineData("""{"headers":{"h":"v"}}""")]
    [InlineData("""{"headers":{"h":"\u00e9\"\n"}}""")]
    [InlineData("""{"headers":{"h":42}}""")]
    [InlineData("""{"headers":{"h":-9007199254740993}}""")]
    [InlineData("""{"headers":{"h":18446744073709551615}}""")]
    [InlineData("""{"headers":{"h":1.5}}""")]
    [InlineData("""{"headers":{"h":1e300}}""")]
    [InlineData("""{"headers":{"h":true}}""")]
    [InlineData("""{"headers":{"h":null}}""")]
    [InlineData("""{"headers":{"h":{"a":[1,"b"]}}}""")]
    [InlineData("""{"headers":{"h":[]}}""")]
    [InlineData("""{"headers":{"other":"x"}}""")]
    [InlineData("""{"headers":{"h":"first","h":"last"}}""")]
    [InlineData("""{"headers":{"h":"first"},"headers":{"h":"last"}}""")]
    [InlineData("""{"headers":"not a map"}""")]
    [InlineData("""{"nothing":1}""")]
    [InlineData("""{}""")]
    [InlineData("""[1]""")]
    [InlineData("""{"headers":{"é":"non-ascii name"}}""")]
    public void A_header_read_from_msgpack_extras_is_what_the_json_path_gives(string extras)
    {
        // The client reads msgpack extras' headers without transcoding them; it must answer as reading their JSON does.
        var frame = new ProtocolMessage(ProtocolAction.Message) { Channel = "c", Messages = [new Message { Name = "n", Extras = JsonPayload.Parse(extras) }] };
        var fromMsgPack = ProtocolCodecs.MessagePackFromServer.Decode(ProtocolCodecs.MessagePack.Encode(frame)).Messages![0];
        var fromJson = new Message { Extras = new JsonPayload(fromMsgPack.Extras!.Utf8Json.ToArray()) };

        foreach (var name in new[] { "h", "é", "other", "missing" })
        {
            Assert.Equal(fromJson.GetHeader(name), fromMsgPack.GetHeader(name));
        }
    }
}
