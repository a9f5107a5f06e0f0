using TokenWire.Protocol.Tests.Support;

namespace TokenWire.Protocol.Tests;

/// <summary>
/// What every wire codec must do with the frames captured from ably-js (client→server) and the hand-written server
/// frames, run for JSON and MessagePack: each codec's test class inherits this and adds what is particular to its
/// format (encodings, number forms, malformed inputs).
/// </summary>
public abstract class ProtocolCodecConformance
{
    public static TheoryData<string> ClientFrames => CapturedFrames.ClientTheoryData();

    public static TheoryData<string> ServerFrames => CapturedFrames.ServerTheoryData();

    protected abstract WireFormat Format { get; }

    protected IProtocolCodec Codec => ProtocolCodecs.For(Format);

    /// <summary>The other wire format's codec: the server relays between the two.</summary>
    protected IProtocolCodec Other => ProtocolCodecs.For(Format == WireFormat.Json ? WireFormat.MessagePack : WireFormat.Json);

    [Fact]
    public void Annotation_frames_and_bodies_round_trip_every_field()
    {
        var annotation = new Annotation
        {
            Id = "conn:3:0",
            Action = AnnotationActions.Delete,
            Serial = "e1-0042:000000001",
            MessageSerial = "e1-0042",
            Type = "reaction:multiple.v1",
            Name = "👍",
            ClientId = "alice",
            ConnectionId = "conn",
            Count = 3,
            Data = MessageData.FromBytes([1, 2, 3]),
            Encoding = "utf-8",
            Extras = JsonPayload.Parse("""{"headers":{"k":"v"}}"""),
            Timestamp = 1_795_000_000_000,
        };

        var frame = Codec.Decode(Codec.Encode(new ProtocolMessage(ProtocolAction.Annotation) { Channel = "c", MsgSerial = 4, Annotations = [annotation] }));
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        Codec.WriteAnnotations([annotation], body);
        var fromBody = Codec.ReadAnnotations(new System.Buffers.ReadOnlySequence<byte>(body.WrittenMemory));

        Assert.Equal(ProtocolAction.Annotation, frame.Action);
        foreach (var read in new[] { Assert.Single(frame.Annotations!), Assert.Single(fromBody) })
        {
            Assert.Equal(
                (annotation.Id, annotation.Action, annotation.Serial, annotation.MessageSerial, annotation.Type, annotation.Name, annotation.ClientId, annotation.ConnectionId, annotation.Count, annotation.Encoding, annotation.Timestamp),
                (read.Id, read.Action, read.Serial, read.MessageSerial, read.Type, read.Name, read.ClientId, read.ConnectionId, read.Count, read.Encoding, read.Timestamp));
            Assert.Equal(annotation.Data, read.Data);
            Assert.Equal(annotation.Extras!.ToElement().GetRawText(), read.Extras!.ToElement().GetRawText());
        }
    }

    [Theory]
    [InlineData(InheritedFields.None)]
    [InlineData(InheritedFields.ConnectionId)]
    [InlineData(InheritedFields.Timestamp)]
    [InlineData(InheritedFields.ConnectionId | InheritedFields.Timestamp)]
    public void A_message_written_without_inherited_fields_is_the_message_without_them(InheritedFields inherited)
    {
        var message = new Message
        {
            Id = "conn:7:0",
            Name = "token",
            Data = MessageData.FromText("""{"token":"abc"}"""),
            Encoding = "json",
            ClientId = "alice",
            ConnectionId = "conn",
            Timestamp = 1_795_000_000_000,
            Extras = JsonPayload.Parse("""{"headers":{"responseId":"r1"}}"""),
            Action = MessageActions.Create,
            Serial = "e1-0042:000000001",
        };
        var without = message.Clone();
        without.ConnectionId = (inherited & InheritedFields.ConnectionId) != 0 ? null : without.ConnectionId;
        without.Timestamp = (inherited & InheritedFields.Timestamp) != 0 ? null : without.Timestamp;

        var expected = new System.Buffers.ArrayBufferWriter<byte>();
        Codec.WriteMessage(without, expected);
        var written = new System.Buffers.ArrayBufferWriter<byte>();
        Codec.WriteMessage(message, inherited, written);

        Assert.Equal(expected.WrittenSpan.ToArray(), written.WrittenSpan.ToArray());
        Assert.Equal(("conn", 1_795_000_000_000L), (message.ConnectionId, message.Timestamp)); // the message itself is not changed
    }

    [Fact]
    public void A_summary_message_carries_its_annotations_field()
    {
        var summary = new Message { Action = MessageActions.Summary, Serial = "e1-0042", Annotations = JsonPayload.Parse("""{"summary":{"r:total.v1":{"total":2}}}""") };
        var bytes = Codec.Encode(new ProtocolMessage(ProtocolAction.Message) { Channel = "c", Messages = [summary] });
        var reader = new global::MessagePack.MessagePackReader(bytes);
        var json = System.Text.Encoding.UTF8.GetString(Format == WireFormat.Json ? bytes : TokenWire.Protocol.MessagePack.PayloadTranscoder.MessagePackToJson(ref reader));

        Assert.Contains("\"annotations\":{\"summary\":{\"r:total.v1\":{\"total\":2}}}", json);
    }

    [Fact]
    public void Codec_reports_its_format()
    {
        Assert.Equal(Format, Codec.Format);
        Assert.NotEqual(Format, Other.Format);
    }

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_client_frame_decodes_to_its_key_fields(string frame)
    {
        var pm = Codec.Decode(CapturedFrames.Client(Format, frame));

        ClientFrameExpectations.AssertKeyFields(frame, pm);
    }

    [Fact]
    public void Every_client_frame_decodes_the_same_with_a_connections_recent_strings_first_seen_and_repeated()
    {
        // One cache through every captured frame, twice, as one connection would: more distinct strings than it keeps,
        // so entries are replaced and found again; each decode must equal the plain one.
        var strings = new RecentStrings();
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var frame in CapturedFrames.ClientFrameNames)
            {
                var input = CapturedFrames.Client(Format, frame);
                ProtocolAssert.Equivalent(Codec.Decode(input), Codec.Decode(input, strings));
            }
        }
    }

    [Fact]
    public void A_publish_with_recent_strings_reads_each_frames_own_names_and_reuses_the_repeated_ones()
    {
        var strings = new RecentStrings();
        var names = new[] { "token", "tokeN", "toke", "tokens", "ünïcode", "token", "tok\"en", "" };
        var decoded = new List<ProtocolMessage>();
        for (var i = 0; i < names.Length; i++)
        {
            var sent = new ProtocolMessage(ProtocolAction.Message)
            {
                Channel = i % 2 == 0 ? "stream-1" : "stream-10",
                MsgSerial = i,
                Messages = [new Message { Name = names[i], Encoding = "json", ClientId = "agent", Data = MessageData.FromText("{}") }, new Message { Name = names[i] }],
            };
            var read = Codec.Decode(Codec.Encode(sent), strings);
            ProtocolAssert.Equivalent(sent, read);
            decoded.Add(read);
        }

        Assert.Same(decoded[0].Channel, decoded[2].Channel);
        Assert.Same(decoded[0].Messages![0].Name, decoded[5].Messages![0].Name);
        Assert.Same(decoded[0].Messages![0].Encoding, decoded[7].Messages![0].Encoding);
        Assert.Same(decoded[0].Messages![0].Name, decoded[0].Messages![1].Name);
    }

    [Fact]
    public void A_name_that_is_not_valid_UTF8_decodes_with_recent_strings_as_without_them()
    {
        // Sent as "a\uFFFD" (EF BF BD), then its bytes broken into FF 7A 7A: JSON refuses them, MessagePack replaces
        // the FF; a cache holding "a\uFFFD" must change neither.
        var valid = Codec.Encode(new ProtocolMessage(ProtocolAction.Message) { Channel = "c", MsgSerial = 1, Messages = [new Message { Name = "a\uFFFD" }] });
        var broken = (byte[])valid.Clone();
        var at = broken.AsSpan().IndexOf(new byte[] { 0xEF, 0xBF, 0xBD });
        broken[at] = 0xFF;
        broken[at + 1] = (byte)'z';
        broken[at + 2] = (byte)'z';
        var strings = new RecentStrings();
        Codec.Decode(valid, strings);

        var plain = Outcome(() => Codec.Decode(broken));
        var kept = Outcome(() => Codec.Decode(broken, strings));

        Assert.Equal(plain, kept);

        static string Outcome(Func<ProtocolMessage> decode)
        {
            try
            {
                return "name " + decode().Messages![0].Name;
            }
            catch (ProtocolException ex)
            {
                return "refused " + ex.Error.Code;
            }
        }
    }

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_client_frame_round_trips_through_encode_and_decode(string frame)
    {
        var decoded = Codec.Decode(CapturedFrames.Client(Format, frame));

        var again = Codec.Decode(Codec.Encode(decoded));

        ProtocolAssert.Equivalent(decoded, again);
    }

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_client_frame_decodes_to_the_same_message_as_its_capture_in_the_other_format(string frame)
    {
        var decoded = Codec.Decode(CapturedFrames.Client(Format, frame));
        var fromOther = Other.Decode(CapturedFrames.Client(Other.Format, frame));

        if (decoded.Action == ProtocolAction.Heartbeat)
        {
            // The ping id is random per capture run.
            fromOther.Id = decoded.Id;
        }

        ProtocolAssert.Equivalent(decoded, fromOther);
    }

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_client_frame_survives_a_trip_through_the_other_format(string frame)
    {
        var decoded = Codec.Decode(CapturedFrames.Client(Format, frame));

        var viaOther = Other.Decode(Other.Encode(decoded));

        ProtocolAssert.Equivalent(decoded, Codec.Decode(Codec.Encode(viaOther)));
    }

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_server_frame_decodes_to_its_key_fields(string frame)
    {
        var pm = Codec.Decode(CapturedFrames.Server(Format, frame));

        ServerFrameExpectations.AssertKeyFields(frame, pm);
    }

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_server_frame_re_encodes_to_a_frame_that_decodes_the_same(string frame)
    {
        var decoded = Codec.Decode(CapturedFrames.Server(Format, frame));

        var reencoded = Codec.Encode(decoded);

        ProtocolAssert.Equivalent(decoded, Codec.Decode(reencoded));
    }

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Captured_server_frame_decodes_to_the_same_message_as_its_twin_in_the_other_format(string frame)
    {
        var decoded = Codec.Decode(CapturedFrames.Server(Format, frame));
        var fromOther = Other.Decode(CapturedFrames.Server(Other.Format, frame));

        ProtocolAssert.Equivalent(decoded, fromOther);
    }

    [Theory]
    [MemberData(nameof(ClientFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Every_truncation_of_a_captured_client_frame_throws_ProtocolException(string frame) =>
        AssertEveryTruncationThrows(CapturedFrames.Client(Format, frame));

    [Theory]
    [MemberData(nameof(ServerFrames), MemberType = typeof(ProtocolCodecConformance))]
    public void Every_truncation_of_a_server_frame_throws_ProtocolException(string frame) =>
        AssertEveryTruncationThrows(CapturedFrames.Server(Format, frame));

    private void AssertEveryTruncationThrows(byte[] bytes)
    {
        for (var length = 0; length < bytes.Length; length++)
        {
            var ex = Record.Exception(() => Codec.Decode(bytes.AsMemory(0, length)));
            Assert.True(ex is ProtocolException, $"prefix of {length} bytes: {ex?.GetType().Name ?? "no exception"} {ex?.Message}");
        }
    }
}
