using System.Buffers;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.Tests.Support;

namespace TokenWire.Protocol.Tests.Json;

/// <summary>The JSON codec: the shared codec suite, plus what is particular to JSON (base64 data, number forms, JSON text).</summary>
public sealed class JsonProtocolCodecTests : ProtocolCodecConformance
{
    private static readonly IProtocolCodec JsonCodec = ProtocolCodecs.Json;

    protected override WireFormat Format => WireFormat.Json;

    [Fact]
    public void For_json_is_the_json_codec() => Assert.IsType<JsonProtocolCodec>(ProtocolCodecs.For(WireFormat.Json));

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_client_frame_re_encodes_to_the_same_json_value_without_the_stray_size(string frame)
    {
        var original = Encoding.UTF8.GetString(CapturedFrames.Client(WireFormat.Json, frame));

        var reencoded = Encoding.UTF8.GetString(JsonCodec.Encode(JsonCodec.Decode(Encoding.UTF8.GetBytes(original))));

        // ably-js leaks its size cache onto each message; the server ignores it, so it is not written back.
        var expected = System.Text.Json.Nodes.JsonNode.Parse(original)!;
        if (expected["messages"] is System.Text.Json.Nodes.JsonArray messages)
        {
            foreach (var message in messages)
            {
                message!.AsObject().Remove("size");
            }
        }

        ProtocolAssert.JsonEquivalent(expected.ToJsonString(), reencoded);
    }

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_server_frame_re_encodes_to_the_same_json_value(string frame)
    {
        var original = CapturedFrames.Server(WireFormat.Json, frame);

        var reencoded = JsonCodec.Encode(JsonCodec.Decode(original));

        ProtocolAssert.JsonEquivalent(Encoding.UTF8.GetString(original), Encoding.UTF8.GetString(reencoded));
    }

    [Fact]
    public void Binary_data_is_decoded_to_bytes_with_the_base64_layer_stripped_from_the_encoding()
    {
        var pm = Decode("""{"action":15,"messages":[{"data":"3q2+7w==","encoding":"utf-8/cipher+aes-128-cbc/base64"}]}""");

        var message = Assert.Single(pm.Messages!);
        Assert.Equal([0xde, 0xad, 0xbe, 0xef], message.Data.Bytes);
        Assert.Equal("utf-8/cipher+aes-128-cbc", message.Encoding);
    }

    [Theory]
    [InlineData("json", "json")]
    [InlineData("base64/json", "base64/json")]
    [InlineData("base64x", "base64x")]
    public void Text_data_whose_encoding_does_not_end_in_base64_stays_text(string encoding, string expected)
    {
        var pm = Decode($$"""{"action":15,"messages":[{"data":"e30=","encoding":"{{encoding}}"}]}""");

        var message = Assert.Single(pm.Messages!);
        Assert.Equal("e30=", message.Data.Text);
        Assert.Equal(expected, message.Encoding);
    }

    [Fact]
    public void Message_decoded_from_msgpack_with_binary_data_is_written_as_base64_with_base64_appended_to_the_encoding()
    {
        var fromMessagePack = ProtocolCodecs.MessagePack.Decode(CapturedFrames.Client(WireFormat.MessagePack, "05-publish-binary-buffer"));
        Assert.Null(fromMessagePack.Messages![0].Encoding);

        using var json = JsonDocument.Parse(JsonCodec.Encode(fromMessagePack));

        var message = json.RootElement.GetProperty("messages")[0];
        Assert.Equal("AAEC/f7/", message.GetProperty("data").GetString());
        Assert.Equal("base64", message.GetProperty("encoding").GetString());
    }

    [Fact]
    public void Binary_data_with_an_encoding_chain_gets_base64_appended_as_a_step()
    {
        var pm = new ProtocolMessage(ProtocolAction.Message)
        {
            Channel = "c",
            Messages = [new Message { Data = MessageData.FromBytes([1, 2, 3]), Encoding = "utf-8/cipher+aes-128-cbc" }],
        };
        var fromMessagePack = ProtocolCodecs.MessagePack.Decode(ProtocolCodecs.MessagePack.Encode(pm));

        using var json = JsonDocument.Parse(JsonCodec.Encode(fromMessagePack));

        var message = json.RootElement.GetProperty("messages")[0];
        Assert.Equal("AQID", message.GetProperty("data").GetString());
        Assert.Equal("utf-8/cipher+aes-128-cbc/base64", message.GetProperty("encoding").GetString());

        // And back: the JSON frame decodes to the same canonical bytes and encoding.
        ProtocolAssert.Equivalent(fromMessagePack, JsonCodec.Decode(JsonCodec.Encode(fromMessagePack)));
    }

    [Fact]
    public void Structured_data_is_kept_as_json_text_with_json_appended_to_the_encoding()
    {
        var messages = ReadMessages("""{"name":"n","data":{"a":[1,2]},"encoding":"utf-8"}""");

        var message = Assert.Single(messages);
        Assert.Equal("""{"a":[1,2]}""", message.Data.Text);
        Assert.Equal("utf-8/json", message.Encoding);
    }

    [Fact]
    public void Rest_body_may_be_one_message_or_an_array_of_messages()
    {
        Assert.Equal("one", Assert.Single(ReadMessages("""{"name":"one","data":"x"}""")).Name);

        var many = ReadMessages("""[{"name":"a"},{"name":"b","data":"AQ==","encoding":"base64"}]""");

        Assert.Equal(["a", "b"], many.Select(m => m.Name));
        Assert.Equal([1], many[1].Data.Bytes);
        Assert.Empty(ReadMessages("[]"));
    }

    [Fact]
    public void Rest_message_array_round_trips_through_write_and_read()
    {
        Message[] messages =
        [
            new() { Id = "id:0", Name = "text", Data = MessageData.FromText("hello"), ClientId = "c", ConnectionId = "conn", Timestamp = 1700000000000, Action = 0, Serial = "s0" },
            new() { Id = "id:1", Data = MessageData.FromBytes([0, 255]), Encoding = "cipher", Extras = JsonPayload.Parse("""{"headers":{"h":"v"}}"""), Version = JsonPayload.Parse("""{"serial":"s1","timestamp":1}""") },
            new() { Name = "empty" },
        ];

        var read = JsonCodec.ReadMessages(new ReadOnlySequence<byte>(JsonCodec.EncodeMessages(messages)));

        ProtocolAssert.Equivalent(messages, read);
    }

    [Fact]
    public void Null_fields_are_treated_as_absent()
    {
        var pm = Decode("""
            {"action":15,"flags":null,"count":null,"error":null,"id":null,"channel":null,"channelSerial":null,
             "connectionId":null,"msgSerial":null,"timestamp":null,"presence":null,"auth":null,
             "connectionDetails":null,"params":null,"res":null,
             "messages":[{"id":null,"name":null,"data":null,"encoding":null,"clientId":null,"extras":null,
                          "action":null,"serial":null,"version":null,"timestamp":null}]}
            """);

        ProtocolAssert.Equivalent(new ProtocolMessage(ProtocolAction.Message) { Messages = [new Message()] }, pm);
    }

    [Fact]
    public void Whole_numbers_sent_in_exponent_form_are_accepted_for_int64_fields()
    {
        var pm = Decode("""{"action":15,"msgSerial":3e0,"timestamp":1.7e12,"messages":[{"timestamp":1.700000000001E12}]}""");

        Assert.Equal(3, pm.MsgSerial);
        Assert.Equal(1700000000000, pm.Timestamp);
        Assert.Equal(1700000000001, pm.Messages![0].Timestamp);
    }

    [Fact]
    public void Unknown_fields_of_every_json_type_are_skipped_at_every_level()
    {
        const string unknown = """
            "zUnknownObject":{"a":[1,{"b":null}],"c":{"d":"e"}},"zUnknownArray":[[],[{}],"x"],"zNumber":-1.5e3,
            "zString":"s","zNull":null,"zTrue":true,"zFalse":false
            """;
        var plain = Decode("""
            {"action":15,"id":"pm","channel":"c","msgSerial":1,
             "messages":[{"name":"n","data":"d","extras":{"k":"v"},"size":99}],
             "error":{"code":40000,"statusCode":400,"message":"m"},
             "connectionDetails":{"connectionKey":"k","maxIdleInterval":5},
             "auth":{"accessToken":"tok"},
             "res":[{"serials":["s"]}],
             "params":{"p":"v"}}
            """);

        var noisy = Decode("""
            {UNKNOWN,"action":15,UNKNOWN,"id":"pm","channel":"c","msgSerial":1,"annotations":[{"type":"x"}],
             "messages":[{UNKNOWN,"name":"n","data":"d","extras":{"k":"v"},"size":99,UNKNOWN}],
             "error":{"code":40000,UNKNOWN,"statusCode":400,"message":"m","href":"h","detail":{"x":1}},
             "connectionDetails":{"connectionKey":"k",UNKNOWN,"maxIdleInterval":5,"siteCode":"eu"},
             "auth":{UNKNOWN,"accessToken":"tok"},
             "res":[{UNKNOWN,"serials":["s"]}],
             "params":{"p":"v"},"state":[{"op":1}],UNKNOWN}
            """.Replace("UNKNOWN", unknown, StringComparison.Ordinal));

        ProtocolAssert.Equivalent(plain, noisy);
        Assert.Equal("tok", noisy.AuthAccessToken);
    }

    [Fact]
    public void Params_values_sent_as_numbers_or_booleans_are_kept_as_their_text()
    {
        var pm = Decode("""{"action":10,"channel":"c","params":{"rewind":10,"delta":true,"x":"y"}}""");

        Assert.Equal("10", pm.Params!["rewind"]);
        Assert.Equal("true", pm.Params["delta"]);
        Assert.Equal("y", pm.Params["x"]);
    }

    public static TheoryData<string> MalformedFrames => [.. MalformedFrameCases.Keys];

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void Malformed_frame_throws_ProtocolException(string @case)
    {
        var input = MalformedFrameCases[@case];

        var ex = Record.Exception(() => JsonCodec.Decode(input));

        Assert.IsType<ProtocolException>(ex);
    }

    public static TheoryData<string> MalformedBodies => [.. MalformedBodyCases.Keys];

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void Malformed_rest_body_throws_ProtocolException(string @case)
    {
        var input = MalformedBodyCases[@case];

        var ex = Record.Exception(() => JsonCodec.ReadMessages(new ReadOnlySequence<byte>(input)));

        Assert.IsType<ProtocolException>(ex);
    }

    [Fact]
    public void Invalid_base64_data_is_reported_as_invalid_message_data()
    {
        var ex = Assert.Throws<ProtocolException>(() => Decode("""{"action":15,"messages":[{"data":"not base64!","encoding":"base64"}]}"""));

        Assert.Equal(ErrorCodes.InvalidMessageData, ex.Error.Code);
    }

    [Fact]
    public void Malformed_frame_is_reported_as_a_bad_request_and_a_malformed_body_as_an_invalid_body()
    {
        Assert.Equal(ErrorCodes.BadRequest, Assert.Throws<ProtocolException>(() => Decode("{")).Error.Code);
        Assert.Equal(ErrorCodes.InvalidRequestBody, Assert.Throws<ProtocolException>(() => ReadMessages("{")).Error.Code);
    }

    [Theory]
    [InlineData(60)]
    [InlineData(61)]
    public void Extras_nested_within_the_depth_limit_are_accepted_and_relayed_in_both_formats(int depth)
    {
        // The frame itself is 3 levels deep (frame, messages, message) before extras starts.
        var pm = Decode($$"""{"action":15,"messages":[{"extras":{{Nested(depth)}}}]}""");

        var viaMessagePack = ProtocolCodecs.MessagePack.Decode(ProtocolCodecs.MessagePack.Encode(pm));

        ProtocolAssert.Equivalent(pm, viaMessagePack);
        ProtocolAssert.Equivalent(pm, Decode(JsonCodec.Encode(viaMessagePack)));
    }

    public static TheoryData<string> ValidExtras =>
    [
        """{"headers":{"a":"b"},"push":{"notification":{"title":"\u00e9\u2713\ud83d\ude00 \"q\" \\ \/"}}}""",
        """{"n":[0,-1,1.5,-0.25,9007199254740993,-9223372036854775808,18446744073709551615]}""",
        """{"big":123456789012345678901234567890,"tiny":1e-300,"large":1.5e300}""",
        """[null,true,false,"",[],{}]""",
        "\"just a string\"",
        "42",
    ];

    [Theory]
    [MemberData(nameof(ValidExtras))]
    public void Any_valid_json_extras_is_relayed_to_msgpack_and_back_as_the_same_value(string extras)
    {
        var pm = Decode($$"""{"action":15,"messages":[{"name":"x","extras":{{extras}}}]}""");

        var viaMessagePack = ProtocolCodecs.MessagePack.Decode(ProtocolCodecs.MessagePack.Encode(pm));
        var backToJson = Decode(JsonCodec.Encode(viaMessagePack));

        ProtocolAssert.JsonEquivalent(extras, viaMessagePack.Messages![0].Extras!.ToString());
        ProtocolAssert.JsonEquivalent(extras, backToJson.Messages![0].Extras!.ToString());
    }

    [Fact]
    public void Extras_with_a_number_beyond_the_double_range_is_relayed_to_msgpack_as_infinity()
    {
        var pm = Decode("""{"action":15,"messages":[{"extras":{"n":1e400}}]}""");

        var bytes = ProtocolCodecs.MessagePack.Encode(pm);

        Assert.Contains(Convert.ToHexString(BitConverter.GetBytes(double.PositiveInfinity).Reverse().ToArray()), Convert.ToHexString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_input_is_rejected_without_exhausting_the_stack()
    {
        var deep = new string('[', 100_000) + new string(']', 100_000);
        string[] frames =
        [
            deep,
            $$"""{"action":15,"messages":[{"extras":{{deep}}}]}""",
            $$"""{"action":15,"messages":[{"data":{{deep}}}]}""",
            $$"""{"action":15,"unknown":{{deep}}}""",
            $$"""{"action":14,"presence":[{{deep}}]}""",
        ];

        foreach (var frame in frames)
        {
            Assert.Throws<ProtocolException>(() => Decode(frame));
        }
    }

    private static ProtocolMessage Decode(string json) => JsonCodec.Decode(Encoding.UTF8.GetBytes(json));

    private static ProtocolMessage Decode(byte[] utf8) => JsonCodec.Decode(utf8);

    private static IReadOnlyList<Message> ReadMessages(string json) =>
        JsonCodec.ReadMessages(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(json)));

    /// <summary><paramref name="depth"/> nested objects: <c>{"a":{"a":…{}…}}</c>.</summary>
    private static string Nested(int depth) =>
        string.Concat(Enumerable.Repeat("{\"a\":", depth - 1)) + "{}" + new string('}', depth - 1);

    private static readonly Dictionary<string, byte[]> MalformedFrameCases = new Dictionary<string, string>
    {
        ["empty input"] = "",
        ["whitespace only"] = "   ",
        ["truncated object"] = """{"action":15,"channel":"ch""",
        ["truncated inside messages"] = """{"action":15,"messages":[{"name":"a""",
        ["not json"] = "{action:15}",
        ["trailing comma"] = """{"action":15,}""",
        ["trailing data"] = """{"action":0} {}""",
        ["two objects"] = """{"action":0}{"action":0}""",
        ["top level array"] = """[{"action":0}]""",
        ["top level string"] = "\"action\"",
        ["top level number"] = "15",
        ["top level null"] = "null",
        ["top level true"] = "true",
        ["empty object has no action"] = "{}",
        ["missing action"] = """{"channel":"c","messages":[]}""",
        ["null action"] = """{"action":null}""",
        ["action as string"] = """{"action":"15"}""",
        ["action as fraction"] = """{"action":1.5}""",
        ["action beyond int32"] = """{"action":4294967311}""",
        ["action as object"] = """{"action":{}}""",
        ["flags as string"] = """{"action":10,"flags":"458752"}""",
        ["count as string"] = """{"action":1,"count":"2"}""",
        ["channel as number"] = """{"action":10,"channel":5}""",
        ["channel as object"] = """{"action":10,"channel":{"name":"c"}}""",
        ["id as array"] = """{"action":0,"id":["1"]}""",
        ["msgSerial as string"] = """{"action":15,"msgSerial":"1"}""",
        ["timestamp as bool"] = """{"action":15,"timestamp":true}""",
        ["messages as object"] = """{"action":15,"messages":{}}""",
        ["messages as string"] = """{"action":15,"messages":"[]"}""",
        ["message as number"] = """{"action":15,"messages":[1]}""",
        ["message as array"] = """{"action":15,"messages":[[]]}""",
        ["message name as number"] = """{"action":15,"messages":[{"name":1}]}""",
        ["message encoding as object"] = """{"action":15,"messages":[{"data":"x","encoding":{}}]}""",
        ["message action as string"] = """{"action":15,"messages":[{"action":"message.create"}]}""",
        ["message timestamp as string"] = """{"action":15,"messages":[{"timestamp":"now"}]}""",
        ["presence as object"] = """{"action":14,"presence":{}}""",
        ["params as array"] = """{"action":10,"params":["rewind"]}""",
        ["params value as object"] = """{"action":10,"params":{"rewind":{"n":1}}}""",
        ["params value as null"] = """{"action":10,"params":{"rewind":null}}""",
        ["error as string"] = """{"action":9,"error":"denied"}""",
        ["error code as string"] = """{"action":9,"error":{"code":"40160"}}""",
        ["auth as string"] = """{"action":17,"auth":"token"}""",
        ["connectionDetails as array"] = """{"action":4,"connectionDetails":[]}""",
        ["connectionDetails number as string"] = """{"action":4,"connectionDetails":{"maxMessageSize":"65536"}}""",
        ["res as object"] = """{"action":1,"res":{}}""",
        ["res serials as string"] = """{"action":1,"res":[{"serials":"s"}]}""",
        ["res serial as number"] = """{"action":1,"res":[{"serials":[1]}]}""",
        ["invalid base64 with encoding base64"] = """{"action":15,"messages":[{"data":"not base64!","encoding":"base64"}]}""",
        ["invalid base64 under a chained encoding"] = """{"action":15,"messages":[{"data":"@@@@","encoding":"json/base64"}]}""",
        ["base64 with bad padding"] = """{"action":15,"messages":[{"data":"AAE","encoding":"base64"}]}""",
        ["extras nested beyond 64 levels"] = $$"""{"action":15,"messages":[{"extras":{{Nested(70)}}}]}""",
        ["extras nested exactly past the frame limit"] = $$"""{"action":15,"messages":[{"extras":{{Nested(62)}}}]}""",
        ["unknown field nested beyond 64 levels"] = $$"""{"action":15,"unknown":{{Nested(70)}}}""",
        ["data nested beyond 64 levels"] = $$"""{"action":15,"messages":[{"data":{{Nested(70)}}}]}""",
        ["unterminated string"] = """{"action":15,"channel":"abc}""",
        ["bad escape"] = """{"action":15,"channel":"\q"}""",
        ["lone surrogate escape in channel"] = """{"action":15,"channel":"\ud800"}""",
        ["comment"] = """{"action":15 /* c */}""",
        ["NaN literal"] = """{"action":NaN}""",
        ["msgSerial beyond int64"] = """{"action":15,"msgSerial":1e30}""",
        ["msgSerial beyond double range"] = """{"action":15,"msgSerial":1e400}""",
        ["timestamp beyond double range"] = """{"action":15,"messages":[{"timestamp":-1e400}]}""",
    }.ToDictionary(p => p.Key, p => Encoding.UTF8.GetBytes(p.Value))
        .Concat(new Dictionary<string, byte[]>
        {
            ["invalid utf-8 in a string"] = [.. "{\"action\":10,\"channel\":\""u8, 0xff, 0xfe, .. "\"}"u8],
            ["invalid utf-8 in a known key's value"] = [.. "{\"action\":15,\"messages\":[{\"name\":\""u8, 0xc3, 0x28, .. "\"}]}"u8],
            ["utf-16 input"] = Encoding.Unicode.GetBytes("""{"action":0}"""),
            ["nul byte"] = [.. "{\"action\":0}"u8, 0],
        })
        .ToDictionary(p => p.Key, p => p.Value);

    private static readonly Dictionary<string, byte[]> MalformedBodyCases = new Dictionary<string, string>
    {
        ["empty input"] = "",
        ["truncated"] = """[{"name":"a"},{"name":""",
        ["top level string"] = "\"x\"",
        ["top level number"] = "1",
        ["top level null"] = "null",
        ["array of numbers"] = "[1,2]",
        ["nested arrays"] = "[[]]",
        ["trailing data"] = """{"name":"a"}{"name":"b"}""",
        ["invalid base64"] = """[{"data":"%%%","encoding":"base64"}]""",
        ["extras too deep"] = $$"""[{"extras":{{Nested(70)}}}]""",
        ["name as number"] = """{"name":5}""",
    }.ToDictionary(p => p.Key, p => Encoding.UTF8.GetBytes(p.Value));
}
