using System.Buffers;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol.MessagePack;
using TokenWire.Protocol.Serials;

namespace TokenWire.Protocol.Tests.MessagePack;

/// <summary>
/// A stored message written straight to the wire must be, byte for byte, what the codec writes for the message a
/// decode of it returns: for every field, both formats, an original (serial and timestamp given by the log) or a
/// version (its own kept), with and without the fields a frame carries. Randomised messages with fixed seeds, so a
/// failure names the seed and the case that reproduce it.
/// </summary>
public sealed class StoredMessageTranscoderTests
{
    private const int MessagesPerSeed = 3_000;

    public static TheoryData<int> Seeds => new() { 7001, 7002, 7003 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_messages_are_written_exactly_as_the_codec_writes_the_decoded_message(int seed)
    {
        var random = new Random(seed);
        var fellBack = 0;
        for (var i = 0; i < MessagesPerSeed; i++)
        {
            var message = RandomMessage(random);
            var isVersion = random.Next(4) == 0;
            var stored = StoredMessageCodec.Encode(message, withPosition: isVersion);
            LogPosition? position = isVersion ? null : new LogPosition(LogPosition.NewEpoch(DateTimeOffset.FromUnixTimeMilliseconds(random.NextInt64(0, 4_000_000_000_000))), random.NextInt64(1, LogPosition.MaxOffset));
            long? timestamp = isVersion ? null : random.NextInt64(0, 4_000_000_000_000);
            fellBack += StoredMessageTranscoder.TryReadHeader(stored, out _, out _, out _) ? 0 : 1;
            foreach (var format in new[] { WireFormat.MessagePack, WireFormat.Json })
            {
                foreach (var (withoutConnectionId, withoutTimestamp) in new[] { (false, false), (true, false), (true, true) })
                {
                    var expected = Expected(format, stored, position, timestamp, withoutConnectionId, withoutTimestamp);
                    var actual = new ArrayBufferWriter<byte>();
                    StoredMessageTranscoder.Write(format, stored, position, timestamp, withoutConnectionId, withoutTimestamp, actual);
                    if (!actual.WrittenSpan.SequenceEqual(expected))
                    {
                        Assert.Fail($"seed {seed}, message {i}, {format}, without connectionId {withoutConnectionId}, without timestamp {withoutTimestamp}:\n"
                            + $"expected {Show(format, expected)}\nactual   {Show(format, actual.WrittenSpan.ToArray())}");
                    }
                }
            }
        }

        // Nearly every message takes the field-by-field path; the decode path is only for what it does not handle.
        Assert.InRange(fellBack, 0, MessagesPerSeed / 10);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_header_is_what_a_decode_returns(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < MessagesPerSeed; i++)
        {
            var stored = StoredMessageCodec.Encode(RandomMessage(random), withPosition: random.Next(2) == 0);
            var decoded = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));
            if (StoredMessageTranscoder.TryReadHeader(stored, out var action, out var connectionId, out var timestamp))
            {
                Assert.Equal(decoded.Action, action);
                Assert.Equal(decoded.ConnectionId, connectionId);
                Assert.Equal(decoded.Timestamp, timestamp);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void The_size_read_from_the_stored_fields_is_the_decoded_message_s_size(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < MessagesPerSeed; i++)
        {
            var stored = StoredMessageCodec.Encode(RandomMessage(random), withPosition: random.Next(4) == 0);
            var decoded = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));

            var size = StoredMessageTranscoder.Size(stored);

            if (size != decoded.Size)
            {
                Assert.Fail($"seed {seed}, message {i}: expected {decoded.Size}, actual {size}; extras {decoded.Extras}");
            }
        }
    }

    [Theory]
    [InlineData("""{"headers":{"responseId":"resp-1","index":0}}""")]
    [InlineData("""{"a":-9223372036854775808,"b":18446744073709551615,"c":[true,false,null,-1,0,9]}""")]
    [InlineData("""{"escaped":"a\"b\n\u0001<>&é😀\u2028","f":1.5,"g":1.0}""")]
    [InlineData("""{}""")]
    [InlineData("""{"e":[],"o":{},"n":null}""")]
    public void The_extras_length_counted_is_the_length_of_their_JSON(string json)
    {
        var msgpack = new ArrayBufferWriter<byte>();
        var writer = new global::MessagePack.MessagePackWriter(msgpack);
        PayloadTranscoder.JsonToMessagePack(Encoding.UTF8.GetBytes(json), ref writer);
        writer.Flush();
        var reader = new global::MessagePack.MessagePackReader(msgpack.WrittenMemory);
        var expected = new global::MessagePack.MessagePackReader(msgpack.WrittenMemory);

        var length = PayloadTranscoder.JsonLength(ref reader);

        Assert.Equal(PayloadTranscoder.MessagePackToJson(ref expected).Length, length);
        Assert.True(reader.End); // the value was read, as a decode reads it
    }

    [Fact]
    public void Text_data_under_a_base64_step_becomes_bytes_as_a_decode_makes_it()
    {
        var stored = StoredMessageCodec.Encode(new Message { Data = MessageData.FromText("aGk="), Encoding = "utf-8/base64" });

        var json = new ArrayBufferWriter<byte>();
        StoredMessageTranscoder.Write(WireFormat.Json, stored, new LogPosition("01", 1), 5, false, false, json);

        Assert.Equal("""{"data":"aGk=","encoding":"utf-8/base64","timestamp":5,"serial":"01-000000000001"}""", Encoding.UTF8.GetString(json.WrittenSpan));
        Assert.False(StoredMessageTranscoder.TryReadHeader(stored, out _, out _, out _));
    }

    [Fact]
    public void Integral_floats_in_extras_come_out_as_the_integers_a_decode_makes_of_them()
    {
        var stored = StoredMessageCodec.Encode(new Message { Extras = new JsonPayload("""{"a":1.0,"b":1.5,"c":1e3}"""u8.ToArray()) });

        var msgpack = new ArrayBufferWriter<byte>();
        StoredMessageTranscoder.Write(WireFormat.MessagePack, stored, null, null, false, false, msgpack);
        var decoded = ProtocolCodecs.MessagePack.Read(Frame(msgpack.WrittenSpan)).Messages![0];

        Assert.Equal("""{"a":1,"b":1.5,"c":1000}""", decoded.Extras!.ToString());
    }

    private static byte[] Expected(WireFormat format, byte[] stored, LogPosition? position, long? timestamp, bool withoutConnectionId, bool withoutTimestamp)
    {
        var message = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));
        if (position is { } p)
        {
            message.Serial = p.ToSerial();
            message.Timestamp = timestamp;
        }

        message.ConnectionId = withoutConnectionId ? null : message.ConnectionId;
        message.Timestamp = withoutTimestamp ? null : message.Timestamp;
        var output = new ArrayBufferWriter<byte>();
        ProtocolCodecs.For(format).WriteMessage(message, output);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A MESSAGE frame around one encoded message, to read it back with the codec.</summary>
    private static ReadOnlySequence<byte> Frame(ReadOnlySpan<byte> message)
    {
        var output = new ArrayBufferWriter<byte>();
        MessageFrames.Write(WireFormat.MessagePack, "c", "s", [message.ToArray()], output);
        return new ReadOnlySequence<byte>(output.WrittenMemory);
    }

    private static string Show(WireFormat format, byte[] bytes) =>
        format == WireFormat.Json ? Encoding.UTF8.GetString(bytes) : Convert.ToHexString(bytes);

    private static Message RandomMessage(Random random)
    {
        var message = new Message
        {
            Id = Maybe(random, () => RandomString(random)),
            Name = Maybe(random, () => RandomString(random)),
            Encoding = random.Next(6) switch
            {
                0 => "json",
                1 => "utf-8",
                2 => string.Empty,
                3 => "utf-8/base64",
                _ => null,
            },
            ClientId = Maybe(random, () => RandomString(random)),
            ConnectionId = Maybe(random, () => RandomString(random)),
            ConnectionKey = random.Next(8) == 0 ? RandomString(random) : null,
            Timestamp = random.Next(2) == 0 ? random.NextInt64(0, 4_000_000_000_000) : null,
            Extras = random.Next(3) == 0 ? null : new JsonPayload(RandomJsonObject(random)),
            Action = random.Next(8) switch
            {
                0 => null,
                1 => random.Next(),
                2 => -random.Next(),
                _ => random.Next(6),
            },
            Serial = Maybe(random, () => RandomString(random)),
            Version = random.Next(3) == 0 ? new JsonPayload(RandomJsonObject(random)) : null,
        };
        message.Data = random.Next(3) switch
        {
            0 => MessageData.None,
            1 => MessageData.FromBytes(RandomBytes(random)),
            _ => MessageData.FromText(RandomString(random)),
        };
        if (message.Data.IsText && message.Encoding is "utf-8/base64")
        {
            message.Data = MessageData.FromText(Convert.ToBase64String(RandomBytes(random))); // a decode turns it into bytes
        }

        return message;
    }

    private static string? Maybe(Random random, Func<string> value) => random.Next(2) == 0 ? value() : null;

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, random.Next(10) == 0 ? 70_000 : 40)];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>ASCII, escapes, accents, emoji, a lone surrogate; now and then long enough for wider length headers.</summary>
    private static string RandomString(Random random, bool loneSurrogate = true)
    {
        string[] pieces = ["t", "token ", "\"", "\\", "\n", "\u0001", "é", "日本", "😀", loneSurrogate ? "\ud800" : "x", "<>&'", "\u2028", " "];
        var builder = new StringBuilder();
        var length = random.Next(10) == 0 ? random.Next(100, 400) : random.Next(0, 12);
        for (var i = 0; i < length; i++)
        {
            builder.Append(pieces[random.Next(pieces.Length)]);
        }

        return builder.ToString();
    }

    private static byte[] RandomJsonObject(Random random)
    {
        var output = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(output))
        {
            WriteJsonObject(writer, random, 0);
        }

        return output.WrittenSpan.ToArray();
    }

    private static void WriteJsonObject(Utf8JsonWriter writer, Random random, int depth)
    {
        writer.WriteStartObject();
        for (var i = random.Next(0, 5); i > 0; i--)
        {
            writer.WritePropertyName(RandomString(random, loneSurrogate: false) + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            WriteJsonValue(writer, random, depth + 1);
        }

        writer.WriteEndObject();
    }

    private static void WriteJsonValue(Utf8JsonWriter writer, Random random, int depth)
    {
        switch (random.Next(depth > 4 ? 8 : 10))
        {
            case 0:
                writer.WriteStringValue(RandomString(random, loneSurrogate: false));
                break;
            case 1:
                writer.WriteNumberValue(random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64));
                break;
            case 2:
                writer.WriteNumberValue(ulong.MaxValue - (ulong)random.Next(1000));
                break;
            case 3:
                writer.WriteRawValue(new[] { "1.0", "1.5", "1e3", "-0", "0.1", "2.5E-5", "123456789012345678901234567890" }[random.Next(7)]);
                break;
            case 4:
                writer.WriteBooleanValue(random.Next(2) == 0);
                break;
            case 5:
                writer.WriteNullValue();
                break;
            case 6:
            case 7:
                writer.WriteNumberValue(random.Next(-200, 70_000));
                break;
            case 8:
                WriteJsonObject(writer, random, depth);
                break;
            default:
                writer.WriteStartArray();
                for (var i = random.Next(0, 4); i > 0; i--)
                {
                    WriteJsonValue(writer, random, depth + 1);
                }

                writer.WriteEndArray();
                break;
        }
    }
}
