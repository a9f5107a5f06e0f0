using System.Buffers;
using System.Text;
using System.Text.Json;
using MessagePack;
using TokenWire.Protocol.MessagePack;
using TokenWire.Protocol.Tests.Support;

namespace TokenWire.Protocol.Tests.MessagePack;

/// <summary>The MessagePack codec: the shared codec suite, plus what is particular to it (bin data, number widths, nil).</summary>
public sealed class MessagePackProtocolCodecTests : ProtocolCodecConformance
{
    private static readonly IProtocolCodec MsgPackCodec = ProtocolCodecs.MessagePack;

    private delegate void PackAction(ref MessagePackWriter writer);

    protected override WireFormat Format => WireFormat.MessagePack;

    [Fact]
    public void For_msgpack_is_the_msgpack_codec() => Assert.IsType<MessagePackProtocolCodec>(ProtocolCodecs.For(WireFormat.MessagePack));

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_server_frame_re_encodes_to_the_same_value(string frame)
    {
        var original = CapturedFrames.Server(WireFormat.MessagePack, frame);

        var reencoded = MsgPackCodec.Encode(MsgPackCodec.Decode(original));

        ProtocolAssert.JsonEquivalent(AsJson(original), AsJson(reencoded));
    }

    [Fact]
    public void Binary_data_is_written_as_bin_without_an_encoding()
    {
        var pm = MsgPackCodec.Decode(CapturedFrames.Client(WireFormat.MessagePack, "05-publish-binary-buffer"));

        var message = FirstMessageFields(MsgPackCodec.Encode(pm));

        Assert.Equal(MessagePackType.Binary, message["data"].Type);
        Assert.Equal("000102FDFEFF", message["data"].Text);
        Assert.False(message.ContainsKey("encoding"));
    }

    [Fact]
    public void Message_decoded_from_json_base64_is_written_as_bin_with_the_base64_step_removed()
    {
        var fromJson = ProtocolCodecs.Json.Decode(Encoding.UTF8.GetBytes(
            """{"action":15,"channel":"c","messages":[{"data":"AQID","encoding":"utf-8/cipher+aes-128-cbc/base64"},{"data":"3q2+7w==","encoding":"base64"}]}"""));

        var bytes = MsgPackCodec.Encode(fromJson);

        var first = FirstMessageFields(bytes);
        Assert.Equal(MessagePackType.Binary, first["data"].Type);
        Assert.Equal("010203", first["data"].Text);
        Assert.Equal("utf-8/cipher+aes-128-cbc", first["encoding"].Text);
        var second = MsgPackCodec.Decode(bytes).Messages![1];
        Assert.Equal([0xde, 0xad, 0xbe, 0xef], second.Data.Bytes);
        Assert.Null(second.Encoding);

        // And back to JSON: base64 again, with the step re-appended.
        using var json = JsonDocument.Parse(ProtocolCodecs.Json.Encode(MsgPackCodec.Decode(bytes)));
        var messages = json.RootElement.GetProperty("messages");
        Assert.Equal("AQID", messages[0].GetProperty("data").GetString());
        Assert.Equal("utf-8/cipher+aes-128-cbc/base64", messages[0].GetProperty("encoding").GetString());
        Assert.Equal("3q2+7w==", messages[1].GetProperty("data").GetString());
        Assert.Equal("base64", messages[1].GetProperty("encoding").GetString());
    }

    [Fact]
    public void Text_data_with_a_trailing_base64_step_is_stored_as_bytes()
    {
        var pm = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("action");
            w.Write(15);
            w.Write("messages");
            w.WriteArrayHeader(1);
            w.WriteMapHeader(2);
            w.Write("encoding");
            w.Write("json/base64");
            w.Write("data");
            w.Write("e30=");
        }));

        var message = Assert.Single(pm.Messages!);
        Assert.Equal("{}"u8.ToArray(), message.Data.Bytes);
        Assert.Equal("json", message.Encoding);
    }

    [Fact]
    public void Structured_data_becomes_json_text_with_json_appended_to_the_encoding()
    {
        var pm = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("action");
            w.Write(15);
            w.Write("messages");
            w.WriteArrayHeader(1);
            w.WriteMapHeader(2);
            w.Write("data");
            w.WriteMapHeader(2);
            w.Write("a");
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write(true);
            w.Write("b");
            w.Write(new byte[] { 1, 2 });
            w.Write("encoding");
            w.Write("utf-8");
        }));

        var message = Assert.Single(pm.Messages!);
        ProtocolAssert.JsonEquivalent("""{"a":[1,true],"b":"AQI="}""", message.Data.Text!);
        Assert.Equal("utf-8/json", message.Encoding);
    }

    [Fact]
    public void Numbers_of_every_msgpack_width_are_accepted()
    {
        var pm = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(5);
            w.Write("action");
            w.WriteUInt64(15); // forced 8-byte width
            w.Write("flags");
            w.WriteUInt32(458752);
            w.Write("msgSerial");
            w.WriteInt16(7);
            w.Write("timestamp");
            w.Write(1700000000123.0); // float64 holding a whole number
            w.Write("count");
            w.WriteInt8(2);
        }));

        Assert.Equal(ProtocolAction.Message, pm.Action);
        Assert.Equal(458752, (int)pm.Flags);
        Assert.Equal(7, pm.MsgSerial);
        Assert.Equal(1700000000123, pm.Timestamp);
        Assert.Equal(2, pm.Count);
    }

    [Fact]
    public void Nil_fields_are_treated_as_absent()
    {
        string[] pmFields = ["flags", "count", "error", "id", "channel", "channelSerial", "connectionId", "msgSerial", "timestamp", "messages", "presence", "auth", "connectionDetails", "params", "res"];
        string[] messageFields = ["id", "name", "data", "encoding", "clientId", "connectionId", "connectionKey", "timestamp", "extras", "action", "serial", "version"];

        var pm = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(pmFields.Length + 2);
            w.Write("action");
            w.Write(15);
            foreach (var field in pmFields)
            {
                w.Write(field);
                w.WriteNil();
            }

            w.Write("messages");
            w.WriteArrayHeader(1);
            w.WriteMapHeader(messageFields.Length);
            foreach (var field in messageFields)
            {
                w.Write(field);
                w.WriteNil();
            }
        }));

        ProtocolAssert.Equivalent(new ProtocolMessage(ProtocolAction.Message) { Messages = [new Message()] }, pm);
    }

    [Fact]
    public void Unknown_fields_of_every_msgpack_type_are_skipped_at_every_level()
    {
        var plain = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) => WriteFrameWithUnknowns(ref w, noise: false)));

        var noisy = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) => WriteFrameWithUnknowns(ref w, noise: true)));

        ProtocolAssert.Equivalent(plain, noisy);
        Assert.Equal("tok", noisy.AuthAccessToken);
        Assert.Equal("k", noisy.ConnectionDetails!.ConnectionKey);
        Assert.Equal(["s"], noisy.Res![0].Serials);
    }

    [Fact]
    public void Rest_body_may_be_one_message_or_an_array_of_messages()
    {
        var one = MsgPackCodec.ReadMessages(new ReadOnlySequence<byte>(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("name");
            w.Write("one");
        })));
        Assert.Equal("one", Assert.Single(one).Name);

        Message[] messages =
        [
            new() { Id = "id:0", Name = "text", Data = MessageData.FromText("hello"), ClientId = "c", ConnectionId = "conn", Timestamp = 1700000000000, Action = 0, Serial = "s0" },
            new() { Id = "id:1", Data = MessageData.FromBytes([0, 255]), Encoding = "cipher", Extras = JsonPayload.Parse("""{"headers":{"h":"v"}}"""), Version = JsonPayload.Parse("""{"serial":"s1","timestamp":1}""") },
            new() { Name = "empty" },
        ];

        var read = MsgPackCodec.ReadMessages(new ReadOnlySequence<byte>(MsgPackCodec.EncodeMessages(messages)));

        ProtocolAssert.Equivalent(messages, read);
    }

    public static TheoryData<string> MalformedFrames => [.. MalformedFrameCases.Keys];

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void Malformed_frame_throws_ProtocolException(string @case)
    {
        var input = MalformedFrameCases[@case];

        var ex = Record.Exception(() => MsgPackCodec.Decode(input));

        Assert.IsType<ProtocolException>(ex);
    }

    [Theory]
    [MemberData(nameof(MalformedFrames))]
    public void Malformed_frame_throws_ProtocolException_from_the_client_codec_too(string @case)
    {
        // The client keeps extras and version as MessagePack and transcodes them later: it must refuse at read time
        // all that the transcoding would refuse.
        var input = MalformedFrameCases[@case];

        var ex = Record.Exception(() => ProtocolCodecs.MessagePackFromServer.Decode(input));

        Assert.IsType<ProtocolException>(ex);
    }

    public static TheoryData<string> FreeFormValues => [.. FreeFormValueCases.Keys];

    [Theory]
    [MemberData(nameof(FreeFormValues))]
    public void The_client_codec_gives_extras_version_and_annotations_as_the_same_json_as_the_server_codec(string @case)
    {
        var value = FreeFormValueCases[@case];
        foreach (var field in new[] { "extras", "version", "annotations" })
        {
            // What the reader made of these fields before it kept them as MessagePack: the JSON, transcoded at once.
            var reader = new MessagePackReader(value);
            var expected = PayloadTranscoder.MessagePackToJson(ref reader);
            var message = ProtocolCodecs.MessagePackFromServer.Decode(FrameWithMessageField(field, value)).Messages![0];

            var actual = field switch { "extras" => message.Extras, "version" => message.Version, _ => message.Annotations };
            Assert.Equal(expected, actual!.Utf8Json.ToArray());
            Assert.Equal(Encoding.UTF8.GetString(expected), actual.ToString());
        }
    }

    [Fact]
    public void A_client_codec_payload_read_from_many_threads_gives_one_json_value()
    {
        var frame = FrameWithExtras(FreeFormValueCases["headers"]);
        var extras = ProtocolCodecs.MessagePackFromServer.Decode(frame).Messages![0].Extras!;

        var results = new ReadOnlyMemory<byte>[8];
        Parallel.For(0, results.Length, i => results[i] = extras.Utf8Json);

        Assert.All(results, r => Assert.True(r.Span.SequenceEqual(results[0].Span)));
        Assert.Equal("""{"headers":{"responseId":"r1","index":7}}""", extras.ToString());
    }

    private static readonly Dictionary<string, byte[]> FreeFormValueCases = new()
    {
        ["headers"] = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("headers");
            w.WriteMapHeader(2);
            w.Write("responseId");
            w.Write("r1");
            w.Write("index");
            w.Write(7);
        }),
        ["every scalar type"] = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(9);
            w.Write("s");
            w.Write("é\"\n");
            w.Write("b");
            w.Write(new byte[] { 0, 1, 255 });
            w.Write("i");
            w.Write(-5L);
            w.Write("u");
            w.Write(ulong.MaxValue);
            w.Write("f");
            w.Write(1.5);
            w.Write("f32");
            w.Write(0.25f);
            w.Write("t");
            w.Write(true);
            w.Write("n");
            w.WriteNil();
            w.Write("a");
            w.WriteArrayHeader(2);
            w.Write(1);
            w.WriteMapHeader(0);
        }),
        ["invalid utf-8 key and value"] = [0x81, 0xA3, 0x61, 0x80, 0x62, 0xA3, 0x61, 0x80, 0x62],
        ["nested to the limit"] = NestedMaps(64),
        ["an array"] = [0x92, 0x01, 0xc0],
        ["a string"] = Str("x"),
    };

    public static TheoryData<string> MalformedBodies => [.. MalformedBodyCases.Keys];

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public void Malformed_rest_body_throws_ProtocolException(string @case)
    {
        var input = MalformedBodyCases[@case];

        var ex = Record.Exception(() => MsgPackCodec.ReadMessages(new ReadOnlySequence<byte>(input)));

        Assert.IsType<ProtocolException>(ex);
    }

    [Fact]
    public void Invalid_base64_text_data_with_encoding_base64_is_reported_as_invalid_message_data()
    {
        var ex = Assert.Throws<ProtocolException>(() => MsgPackCodec.Decode(MalformedFrameCases["invalid base64 with encoding base64"]));

        Assert.Equal(ErrorCodes.InvalidMessageData, ex.Error.Code);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    [InlineData(64)]
    public void Extras_nested_within_the_depth_limit_is_relayed_in_both_formats(int depth)
    {
        var pm = MsgPackCodec.Decode(FrameWithExtras(NestedMaps(depth)));

        var viaMessagePack = MsgPackCodec.Decode(MsgPackCodec.Encode(pm));
        using var json = JsonDocument.Parse(ProtocolCodecs.Json.Encode(pm), new JsonDocumentOptions { MaxDepth = 256 });

        ProtocolAssert.Equivalent(pm, viaMessagePack);
        ProtocolAssert.JsonEquivalent(pm.Messages![0].Extras!.ToString(), json.RootElement.GetProperty("messages")[0].GetProperty("extras").GetRawText());
    }

    [Fact]
    public void Extras_accepted_on_read_is_always_relayable_to_msgpack()
    {
        // Either refuse it on read, or relay it: never accept a message that cannot be encoded again.
        string[] fields = ["extras", "version"];
        foreach (var field in fields)
        {
            var frame = FrameWithMessageField(field, NestedMaps(65));
            ProtocolMessage pm;
            try
            {
                pm = MsgPackCodec.Decode(frame);
            }
            catch (ProtocolException)
            {
                continue;
            }

            Assert.Null(Record.Exception(() => MsgPackCodec.Encode(pm)));
        }
    }

    [Fact]
    public void Extras_strings_are_relayed_exactly_between_formats_escaped_non_ascii_and_control_characters_included()
    {
        const string extras = """{"headers":{"quote\"key":"a\"b\\c\n\u0001","é":"ü€😀","plain":"x"}}""";
        var fromJson = ProtocolCodecs.Json.Decode(Encoding.UTF8.GetBytes($$"""{"action":15,"channel":"c","messages":[{"extras":{{extras}}}]}"""));

        var msgpack = MsgPackCodec.Encode(fromJson);
        var back = MsgPackCodec.Decode(msgpack);

        ProtocolAssert.JsonEquivalent(extras, back.Messages![0].Extras!.ToString());
        var headers = JsonDocument.Parse(back.Messages![0].Extras!.ToString()).RootElement.GetProperty("headers");
        Assert.Equal("a\"b\\c\n\u0001", headers.GetProperty("quote\"key").GetString());
        Assert.Equal("ü€😀", headers.GetProperty("é").GetString());
    }

    [Fact]
    public void Invalid_utf8_in_msgpack_extras_strings_is_replaced_as_when_decoded_to_text()
    {
        // A string with a lone continuation byte, as a key and as a value: decoded with U+FFFD, as ReadString does.
        byte[] bad = [0xA3, 0x61, 0x80, 0x62];
        byte[] extras = [0x81, .. bad, .. bad];

        var pm = MsgPackCodec.Decode(FrameWithExtras(extras));

        var parsed = JsonDocument.Parse(pm.Messages![0].Extras!.ToString()).RootElement;
        Assert.Equal("a\uFFFDb", parsed.GetProperty("a\uFFFDb").GetString());
    }

    [Fact]
    public void Unknown_and_long_map_keys_are_read_like_known_ones()
    {
        var longKey = new string('k', 40);
        var pm = MsgPackCodec.Decode(Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(4);
            w.Write("action");
            w.Write(15);
            w.Write(longKey);
            w.Write(1);
            w.Write("chännel");
            w.Write("x");
            w.Write("channel");
            w.Write("c");
        }));

        Assert.Equal(ProtocolAction.Message, pm.Action);
        Assert.Equal("c", pm.Channel);
    }

    [Fact]
    public void Deeply_nested_input_is_rejected_without_exhausting_the_stack()
    {
        const int depth = 200_000;
        byte[][] frames =
        [
            FrameWithExtras(NestedMaps(depth)),
            FrameWithExtras(NestedArrays(depth)),
            FrameWithUnknown(NestedMaps(depth)),
            FrameWithUnknown(NestedArrays(depth)),
            FrameWithMessageField("data", NestedArrays(depth)),
            FrameWithMessageField("version", NestedMaps(depth)),
            FrameWithMessageField("unknown", NestedArrays(depth)),
            [.. Header(2), .. Str("action"), 14, .. Str("presence"), 0x91, .. NestedArrays(depth)],
            NestedMaps(depth),
            NestedArrays(depth),
        ];

        foreach (var frame in frames)
        {
            Assert.Throws<ProtocolException>(() => MsgPackCodec.Decode(frame));
        }
    }

    private static readonly Dictionary<string, byte[]> MalformedFrameCases = new()
    {
        ["empty input"] = [],
        ["never-used code 0xc1"] = [0xc1],
        ["top level array"] = [0x91, 0x81, .. Str("action"), 0x00],
        ["top level string"] = Str("action"),
        ["top level int"] = [0x0f],
        ["top level nil"] = [0xc0],
        ["top level bin"] = [0xc4, 0x01, 0x00],
        ["top level ext"] = [0xd4, 0x01, 0x00],
        ["empty map has no action"] = [0x80],
        ["missing action"] = [0x81, .. Str("channel"), .. Str("c")],
        ["nil action"] = [0x81, .. Str("action"), 0xc0],
        ["action as string"] = [0x81, .. Str("action"), .. Str("15")],
        ["action as bool"] = [0x81, .. Str("action"), 0xc3],
        ["action beyond int32"] = [0x81, .. Str("action"), 0xce, 0xff, 0xff, 0xff, 0xff],
        ["action beyond int64"] = [0x81, .. Str("action"), 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ["action as NaN"] = [0x81, .. Str("action"), 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0],
        ["action as infinity"] = [0x81, .. Str("action"), 0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0],
        ["action as ext"] = [0x81, .. Str("action"), 0xd4, 0x01, 0x00],
        ["integer map key"] = [0x82, .. Str("action"), 0x0f, 0x01, 0x02],
        ["bin map key"] = [0x82, .. Str("action"), 0x0f, 0xc4, 0x01, 0x61, 0x02],
        ["trailing data"] = [0x81, .. Str("action"), 0x00, 0x00],
        ["map declares more entries than present"] = [0x83, .. Str("action"), 0x00],
        ["channel as int"] = [0x82, .. Str("action"), 10, .. Str("channel"), 0x05],
        ["channel as bin"] = [0x82, .. Str("action"), 10, .. Str("channel"), 0xc4, 0x01, 0x61],
        ["msgSerial as string"] = [0x82, .. Str("action"), 15, .. Str("msgSerial"), .. Str("1")],
        ["msgSerial beyond int64"] = [0x82, .. Str("action"), 15, .. Str("msgSerial"), 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ["timestamp as huge double"] = [0x82, .. Str("action"), 15, .. Str("timestamp"), 0xcb, 0x7f, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ["flags as string"] = [0x82, .. Str("action"), 10, .. Str("flags"), .. Str("1")],
        ["messages as map"] = [0x82, .. Str("action"), 15, .. Str("messages"), 0x80],
        ["message as int"] = [0x82, .. Str("action"), 15, .. Str("messages"), 0x91, 0x01],
        ["message as array"] = [0x82, .. Str("action"), 15, .. Str("messages"), 0x91, 0x90],
        ["message name as int"] = FrameWithMessageField("name", [0x01]),
        ["message encoding as map"] = FrameWithMessageField("encoding", [0x80]),
        ["message action as string"] = FrameWithMessageField("action", Str("message.create")),
        ["message data as ext"] = FrameWithMessageField("data", [0xd4, 0x01, 0x00]),
        ["message data as timestamp ext"] = FrameWithMessageField("data", [0xd6, 0xff, 0, 0, 0, 1]),
        ["extras holding an ext"] = FrameWithExtras([0x81, .. Str("t"), 0xd6, 0xff, 0, 0, 0, 1]),
        ["extras with an integer key"] = FrameWithExtras([0x81, 0x01, 0x02]),
        ["extras holding NaN"] = FrameWithExtras([0x81, .. Str("n"), 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
        ["presence as map"] = [0x82, .. Str("action"), 14, .. Str("presence"), 0x80],
        ["presence item holding an ext"] = [0x82, .. Str("action"), 14, .. Str("presence"), 0x91, 0xd4, 0x01, 0x00],
        ["params as array"] = [0x82, .. Str("action"), 10, .. Str("params"), 0x90],
        ["params value as map"] = [0x82, .. Str("action"), 10, .. Str("params"), 0x81, .. Str("rewind"), 0x80],
        ["params value as bin"] = [0x82, .. Str("action"), 10, .. Str("params"), 0x81, .. Str("rewind"), 0xc4, 0x01, 0x31],
        ["params value as nil"] = [0x82, .. Str("action"), 10, .. Str("params"), 0x81, .. Str("rewind"), 0xc0],
        ["params value as uint64 beyond int64"] = [0x82, .. Str("action"), 10, .. Str("params"), 0x81, .. Str("rewind"), 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        ["error as string"] = [0x82, .. Str("action"), 9, .. Str("error"), .. Str("denied")],
        ["error code as string"] = [0x82, .. Str("action"), 9, .. Str("error"), 0x81, .. Str("code"), .. Str("40160")],
        ["auth as string"] = [0x82, .. Str("action"), 17, .. Str("auth"), .. Str("tok")],
        ["auth token as int"] = [0x82, .. Str("action"), 17, .. Str("auth"), 0x81, .. Str("accessToken"), 0x01],
        ["connectionDetails as array"] = [0x82, .. Str("action"), 4, .. Str("connectionDetails"), 0x90],
        ["connectionDetails number as string"] = [0x82, .. Str("action"), 4, .. Str("connectionDetails"), 0x81, .. Str("maxMessageSize"), .. Str("1")],
        ["res as map"] = [0x82, .. Str("action"), 1, .. Str("res"), 0x80],
        ["res entry as string"] = [0x82, .. Str("action"), 1, .. Str("res"), 0x91, .. Str("s")],
        ["res serials as string"] = [0x82, .. Str("action"), 1, .. Str("res"), 0x91, 0x81, .. Str("serials"), .. Str("s")],
        ["res serial as int"] = [0x82, .. Str("action"), 1, .. Str("res"), 0x91, 0x81, .. Str("serials"), 0x91, 0x01],
        ["invalid base64 with encoding base64"] = [.. Header(2), .. Str("action"), 15, .. Str("messages"), 0x91, 0x82, .. Str("data"), .. Str("not base64!"), .. Str("encoding"), .. Str("base64")],
        ["invalid base64 under a chained encoding"] = [.. Header(2), .. Str("action"), 15, .. Str("messages"), 0x91, 0x82, .. Str("encoding"), .. Str("utf-8/base64"), .. Str("data"), .. Str("@@@")],
        ["extras nested beyond 64 levels (maps)"] = FrameWithExtras(NestedMaps(70)),
        ["extras nested beyond 64 levels (arrays)"] = FrameWithExtras(NestedArrays(70)),
        ["extras nested just past the limit"] = FrameWithExtras(NestedMaps(66)),
        ["version nested beyond 64 levels"] = FrameWithMessageField("version", NestedMaps(70)),
        ["data nested beyond 64 levels"] = FrameWithMessageField("data", NestedArrays(70)),
        ["unknown message field nested beyond 64 levels"] = FrameWithMessageField("zzz", NestedMaps(70)),
        ["unknown field nested beyond 64 levels"] = FrameWithUnknown(NestedArrays(70)),
        ["presence nested beyond 64 levels"] = [.. Header(2), .. Str("action"), 14, .. Str("presence"), 0x91, .. NestedMaps(70)],
        ["huge declared top-level map"] = [0xdf, 0x7f, 0xff, 0xff, 0xff, .. Str("action"), 0x00],
        ["huge declared top-level map beyond int32"] = [0xdf, 0xff, 0xff, 0xff, 0xff, .. Str("action"), 0x00],
        ["huge declared messages array"] = [.. Header(2), .. Str("action"), 15, .. Str("messages"), 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80],
        ["huge declared messages array beyond int32"] = [.. Header(2), .. Str("action"), 15, .. Str("messages"), 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80],
        ["huge declared presence array"] = [.. Header(2), .. Str("action"), 14, .. Str("presence"), 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80],
        ["huge declared res array"] = [.. Header(2), .. Str("action"), 1, .. Str("res"), 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80],
        ["huge declared params map"] = [.. Header(2), .. Str("action"), 10, .. Str("params"), 0xdf, 0x7f, 0xff, 0xff, 0xff, .. Str("a"), .. Str("b")],
        ["huge declared params map of a billion entries"] = [.. Header(2), .. Str("action"), 10, .. Str("params"), 0xdf, 0x40, 0x00, 0x00, 0x00, .. Str("a"), .. Str("b")],
        ["huge declared extras map"] = FrameWithExtras([0xdf, 0x7f, 0xff, 0xff, 0xff, .. Str("a"), 0x01]),
        ["huge declared extras array"] = FrameWithExtras([0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01]),
        ["huge declared unknown map"] = FrameWithUnknown([0xdf, 0x7f, 0xff, 0xff, 0xff, .. Str("a"), 0x01]),
        ["huge declared unknown array"] = FrameWithUnknown([0xdd, 0x7f, 0xff, 0xff, 0xff, 0x01]),
        ["huge declared channel string"] = [.. Header(2), .. Str("action"), 10, .. Str("channel"), 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61],
        ["huge declared string beyond int32"] = [.. Header(2), .. Str("action"), 10, .. Str("channel"), 0xdb, 0xff, 0xff, 0xff, 0xff, 0x61],
        ["huge declared key string"] = [0x81, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61],
        ["huge declared data bin"] = FrameWithMessageField("data", [0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00]),
        ["huge declared data string"] = FrameWithMessageField("data", [0xdb, 0x7f, 0xff, 0xff, 0xff, 0x00]),
        ["huge declared ext in an unknown field"] = FrameWithUnknown([0xc9, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x00]),
        ["huge declared bin in extras"] = FrameWithExtras([0x81, .. Str("b"), 0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00]),
        ["truncated str8 header"] = [0x81, .. Str("action"), 0xd9],
        ["truncated uint32"] = [0x81, .. Str("action"), 0xce, 0x00, 0x00],
        ["truncated float64"] = [0x81, .. Str("action"), 0xcb, 0x40],
    };

    private static readonly Dictionary<string, byte[]> MalformedBodyCases = new()
    {
        ["empty input"] = [],
        ["top level string"] = Str("x"),
        ["top level nil"] = [0xc0],
        ["array of ints"] = [0x92, 0x01, 0x02],
        ["nested arrays"] = [0x91, 0x90],
        ["trailing data"] = [0x80, 0x80],
        ["huge declared array"] = [0xdd, 0x7f, 0xff, 0xff, 0xff, 0x80],
        ["huge declared map"] = [0xdf, 0x7f, 0xff, 0xff, 0xff, .. Str("name"), .. Str("x")],
        ["truncated"] = [0x92, 0x81, .. Str("name")],
        ["invalid base64"] = [0x82, .. Str("data"), .. Str("%%%"), .. Str("encoding"), .. Str("base64")],
        ["extras too deep"] = [0x81, .. Str("extras"), .. NestedMaps(70)],
    };

    private static byte[] Pack(PackAction write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Str(string value) => Pack((ref MessagePackWriter w) => w.Write(value));

    private static byte[] Header(int fields) => Pack((ref MessagePackWriter w) => w.WriteMapHeader(fields));

    /// <summary><paramref name="depth"/> nested single-entry maps around an empty map.</summary>
    private static byte[] NestedMaps(int depth)
    {
        var bytes = new List<byte>(depth * 3);
        for (var i = 1; i < depth; i++)
        {
            bytes.AddRange([0x81, 0xa1, (byte)'a']);
        }

        bytes.Add(0x80);
        return [.. bytes];
    }

    /// <summary><paramref name="depth"/> nested single-item arrays around an empty array.</summary>
    private static byte[] NestedArrays(int depth) => [.. Enumerable.Repeat((byte)0x91, depth - 1), 0x90];

    private static byte[] FrameWithExtras(byte[] extras) => FrameWithMessageField("extras", extras);

    private static byte[] FrameWithMessageField(string field, byte[] value) =>
        [.. Header(2), .. Str("action"), 15, .. Str("messages"), 0x91, 0x81, .. Str(field), .. value];

    private static byte[] FrameWithUnknown(byte[] value) => [.. Header(2), .. Str("action"), 15, .. Str("unknownField"), .. value];

    private static void WriteFrameWithUnknowns(ref MessagePackWriter w, bool noise)
    {
        w.WriteMapHeader(8 + (noise ? 3 : 0));
        Noise(ref w, noise);
        w.Write("action");
        w.Write(15);
        w.Write("channel");
        w.Write("c");
        Noise(ref w, noise);
        w.Write("messages");
        w.WriteArrayHeader(1);
        w.WriteMapHeader(4 + (noise ? 2 : 0));
        Noise(ref w, noise);
        w.Write("name");
        w.Write("n");
        w.Write("data");
        w.Write("d");
        w.Write("extras");
        w.WriteMapHeader(1);
        w.Write("k");
        w.Write("v");
        w.Write("size");
        w.Write(99);
        Noise(ref w, noise);
        w.Write("error");
        w.WriteMapHeader(3 + (noise ? 1 : 0));
        w.Write("code");
        w.Write(40000);
        Noise(ref w, noise);
        w.Write("statusCode");
        w.Write(400);
        w.Write("message");
        w.Write("m");
        w.Write("connectionDetails");
        w.WriteMapHeader(2 + (noise ? 1 : 0));
        w.Write("connectionKey");
        w.Write("k");
        Noise(ref w, noise);
        w.Write("maxIdleInterval");
        w.Write(5);
        w.Write("auth");
        w.WriteMapHeader(1 + (noise ? 1 : 0));
        Noise(ref w, noise);
        w.Write("accessToken");
        w.Write("tok");
        w.Write("res");
        w.WriteArrayHeader(1);
        w.WriteMapHeader(1 + (noise ? 1 : 0));
        Noise(ref w, noise);
        w.Write("serials");
        w.WriteArrayHeader(1);
        w.Write("s");
        w.Write("params");
        w.WriteMapHeader(1);
        w.Write("p");
        w.Write("v");
        Noise(ref w, noise);
    }

    /// <summary>One unknown key whose value holds every msgpack type, including bin and an extension.</summary>
    private static void Noise(ref MessagePackWriter w, bool noise)
    {
        if (!noise)
        {
            return;
        }

        w.Write("zUnknown" + Guid.NewGuid().ToString("N"));
        w.WriteArrayHeader(11);
        w.WriteNil();
        w.Write(true);
        w.Write(-5);
        w.Write(ulong.MaxValue);
        w.Write(1.5f);
        w.Write(2.5);
        w.Write("s");
        w.Write(new byte[] { 1, 2, 3 });
        w.WriteExtensionFormat(new ExtensionResult(5, new byte[] { 9, 9 }));
        w.WriteMapHeader(1);
        w.Write(7); // non-string key inside an unknown value: skipped, not interpreted
        w.WriteArrayHeader(0);
        w.WriteArrayHeader(1);
        w.WriteMapHeader(0);
    }

    /// <summary>A msgpack frame as a JSON text (bin as base64), to compare frames as values rather than bytes.</summary>
    private static string AsJson(byte[] msgpack)
    {
        var reader = new MessagePackReader(msgpack);
        return Encoding.UTF8.GetString(PayloadTranscoder.MessagePackToJson(ref reader));
    }

    /// <summary>The first message's fields as (msgpack type, text or hex) pairs, read with the raw reader.</summary>
    private static Dictionary<string, (MessagePackType Type, string Text)> FirstMessageFields(byte[] frame)
    {
        var reader = new MessagePackReader(frame);
        var fields = new Dictionary<string, (MessagePackType, string)>(StringComparer.Ordinal);
        var count = reader.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            if (reader.ReadString() != "messages")
            {
                reader.Skip();
                continue;
            }

            Assert.True(reader.ReadArrayHeader() > 0);
            var messageFields = reader.ReadMapHeader();
            for (var j = 0; j < messageFields; j++)
            {
                var key = reader.ReadString()!;
                var type = reader.NextMessagePackType;
                fields[key] = type switch
                {
                    MessagePackType.Binary => (type, Convert.ToHexString(reader.ReadBytes()!.Value.ToArray())),
                    MessagePackType.String => (type, reader.ReadString()!),
                    _ => (type, Skip(ref reader)),
                };
            }

            return fields;
        }

        throw new InvalidOperationException("frame has no messages");
    }

    private static string Skip(ref MessagePackReader reader)
    {
        reader.Skip();
        return string.Empty;
    }
}
