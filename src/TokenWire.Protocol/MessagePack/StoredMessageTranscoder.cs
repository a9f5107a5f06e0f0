using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.Serials;
using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackType = global::MessagePack.MessagePackType;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol.MessagePack;

/// <summary>
/// Writes a message kept in <see cref="StoredMessageCodec"/>'s form straight as a wire format's message object: exactly
/// the bytes <see cref="IProtocolCodec.WriteMessage(Message, IBufferWriter{byte})"/> writes for the message <see cref="StoredMessageCodec.Decode"/>
/// returns (with its serial and timestamp), without making that <see cref="Message"/>. A replay or a history page
/// costs a copy of each field instead of a decode (strings, the extras' JSON) and an encode. Strings, binary and
/// integers are copied as they are stored; extras and version are copied as well into MessagePack when they hold
/// nothing the JSON round trip of a decode would change (floats, binary, …), and are transcoded into JSON. Stored bytes
/// this does not take field by field (structured or base64 text data, a key twice, an unexpected type) are decoded and
/// encoded instead, so the result is always the codec's. The byte-for-byte equality is what its tests check.
/// </summary>
public static class StoredMessageTranscoder
{
    // The fields a decode keeps, in the order both codecs write them.
    private const int Id = 0;
    private const int Name = 1;
    private const int Data = 2;
    private const int Encoding = 3;
    private const int ClientId = 4;
    private const int ConnectionId = 5;
    private const int ConnectionKey = 6;
    private const int Timestamp = 7;
    private const int Extras = 8;
    private const int Action = 9;
    private const int Serial = 10;
    private const int Version = 11;
    private const int FieldCount = 12;

    /// <summary>Longest serial: a 14-digit epoch (<see cref="LogPosition.EpochDigits"/>) is usual; room to spare.</summary>
    private const int MaxSerialBytes = 64;

    private static readonly byte[][] MessagePackKeys = EncodeKeys();

    private static readonly JsonEncodedText[] JsonKeys =
    [
        JsonEncodedText.Encode("id"), JsonEncodedText.Encode("name"), JsonEncodedText.Encode("data"),
        JsonEncodedText.Encode("encoding"), JsonEncodedText.Encode("clientId"), JsonEncodedText.Encode("connectionId"),
        JsonEncodedText.Encode("connectionKey"), JsonEncodedText.Encode("timestamp"), JsonEncodedText.Encode("extras"),
        JsonEncodedText.Encode("action"), JsonEncodedText.Encode("serial"), JsonEncodedText.Encode("version"),
    ];

    [ThreadStatic]
    private static Utf8JsonWriter? t_jsonWriter;

    /// <summary>Where a serial is formatted (its UTF-8), so writing one allocates nothing.</summary>
    [ThreadStatic]
    private static byte[]? t_serial;

    /// <summary>
    /// Writes the stored message as <paramref name="format"/>'s message object to <paramref name="output"/>.
    /// </summary>
    /// <param name="position">An original's serial, from its entry's offset (its stored form has none); null for a
    /// version, which keeps its original's.</param>
    /// <param name="timestamp">An original's timestamp, its entry's log time; null for a version.</param>
    /// <param name="withoutConnectionId">Leave out <c>connectionId</c> (the frame carries it: TM2c).</param>
    /// <param name="withoutTimestamp">Leave out <c>timestamp</c> (the frame carries it: TM2f).</param>
    public static void Write(WireFormat format, ReadOnlyMemory<byte> stored, LogPosition? position, long? timestamp, bool withoutConnectionId, bool withoutTimestamp, IBufferWriter<byte> output)
    {
        var options = new Options(position, timestamp, withoutConnectionId, withoutTimestamp);
        if (format == WireFormat.MessagePack)
        {
            var writer = new MessagePackWriter(output);
            WriteMessagePack(ref writer, stored, options);
            writer.Flush();
            return;
        }

        var json = t_jsonWriter ?? new Utf8JsonWriter(DetachedOutput.Instance, JsonProtocolCodec.WriterOptions);
        t_jsonWriter = null; // taken out while in use, so a nested write gets its own
        try
        {
            json.Reset(output);
            WriteJson(json, stored, options);
            json.Flush();
        }
        finally
        {
            json.Reset(DetachedOutput.Instance);
            t_jsonWriter = json;
        }
    }

    /// <summary>Writes the stored message as a JSON message object to <paramref name="writer"/> (an element of a REST
    /// page's array), with every field a decode gives it.</summary>
    /// <inheritdoc cref="Write" path="/param[@name='position']|/param[@name='timestamp']"/>
    public static void WriteJson(Utf8JsonWriter writer, ReadOnlyMemory<byte> stored, LogPosition? position, long? timestamp) =>
        WriteJson(writer, stored, new Options(position, timestamp, WithoutConnectionId: false, WithoutTimestamp: false));

    /// <summary>Writes the stored message as a MessagePack message map to <paramref name="writer"/> (an element of a
    /// REST page's array), with every field a decode gives it.</summary>
    /// <inheritdoc cref="Write" path="/param[@name='position']|/param[@name='timestamp']"/>
    public static void WriteMessagePack(ref MessagePackWriter writer, ReadOnlyMemory<byte> stored, LogPosition? position, long? timestamp) =>
        WriteMessagePack(ref writer, stored, new Options(position, timestamp, WithoutConnectionId: false, WithoutTimestamp: false));

    /// <summary>
    /// <see cref="Message.Size"/> of the message a decode returns (name, clientId, the extras' JSON and data), read from
    /// the stored fields: what a REST read counts in its stats without decoding the message.
    /// </summary>
    public static int Size(ReadOnlyMemory<byte> stored)
    {
        Span<int> at = stackalloc int[FieldCount * 2];
        if (!TryIndex(stored, at))
        {
            return StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored)).Size;
        }

        // Strings are valid UTF-8 here (TryIndex), so a decoded string's UTF-8 is the stored bytes.
        var size = 0;
        foreach (var field in (ReadOnlySpan<int>)[Name, ClientId, Data])
        {
            if (Has(at, field))
            {
                var reader = ReaderAt(stored, at, field);
                size += reader.NextMessagePackType == MessagePackType.Binary ? (int)reader.ReadBytes()!.Value.Length : StringAt(stored.Span, at, field).Length;
            }
        }

        if (Has(at, Extras))
        {
            var reader = ReaderAt(stored, at, Extras);
            size += PayloadTranscoder.JsonLength(ref reader);
        }

        return size;
    }

    /// <summary>The stored message's <c>action</c>, <c>connectionId</c> and <c>timestamp</c> as a decode would give them
    /// (before a log sets an original's timestamp); false when the stored form is one only a decode can read.</summary>
    public static bool TryReadHeader(ReadOnlyMemory<byte> stored, out int? action, out string? connectionId, out long? timestamp)
    {
        action = null;
        connectionId = null;
        timestamp = null;
        Span<int> at = stackalloc int[FieldCount * 2];
        if (!TryIndex(stored, at))
        {
            return false;
        }

        if (Has(at, Action))
        {
            var reader = ReaderAt(stored, at, Action);
            action = (int)reader.ReadInt64();
        }

        if (Has(at, ConnectionId))
        {
            var reader = ReaderAt(stored, at, ConnectionId);
            connectionId = reader.ReadString();
        }

        if (Has(at, Timestamp))
        {
            var reader = ReaderAt(stored, at, Timestamp);
            timestamp = reader.ReadInt64();
        }

        return true;
    }

    private static void WriteMessagePack(ref MessagePackWriter writer, ReadOnlyMemory<byte> stored, in Options options)
    {
        Span<int> at = stackalloc int[FieldCount * 2];
        if (!TryIndex(stored, at))
        {
            MessagePackProtocolWriter.WriteMessage(ref writer, Decoded(stored, options));
            return;
        }

        var span = stored.Span;
        var hasSerial = options.Position is not null || Has(at, Serial);
        var hasTimestamp = !options.WithoutTimestamp && (options.Timestamp is not null || Has(at, Timestamp));
        var count = 0;
        for (var field = 0; field < FieldCount; field++)
        {
            count += field switch
            {
                ConnectionId => !options.WithoutConnectionId && Has(at, field) ? 1 : 0,
                Timestamp => hasTimestamp ? 1 : 0,
                Serial => hasSerial ? 1 : 0,
                _ => Has(at, field) ? 1 : 0,
            };
        }

        writer.WriteMapHeader(count);
        for (var field = 0; field < FieldCount; field++)
        {
            switch (field)
            {
                case ConnectionId when options.WithoutConnectionId:
                    continue;
                case Timestamp:
                    if (hasTimestamp)
                    {
                        writer.WriteRaw(MessagePackKeys[field]);
                        writer.Write(options.Timestamp ?? ReaderAt(stored, at, Timestamp).ReadInt64());
                    }

                    continue;
                case Serial when options.Position is { } position:
                    writer.WriteRaw(MessagePackKeys[field]);
                    var serial = t_serial ??= new byte[MaxSerialBytes];
                    writer.WriteString(serial.AsSpan(0, FormatSerial(position, serial)));
                    continue;
                case Action when Has(at, field):
                    writer.WriteRaw(MessagePackKeys[field]);
                    writer.Write((int)ReaderAt(stored, at, Action).ReadInt64());
                    continue;
                case Extras or Version when Has(at, field):
                    writer.WriteRaw(MessagePackKeys[field]);
                    var value = span.Slice(at[field * 2], at[(field * 2) + 1]);
                    if (IsJsonStable(stored.Slice(at[field * 2], at[(field * 2) + 1])))
                    {
                        writer.WriteRaw(value);
                    }
                    else
                    {
                        // What a decode and an encode do: through JSON, which normalises numbers and binary.
                        var reader = ReaderAt(stored, at, field);
                        PayloadTranscoder.JsonToMessagePack(PayloadTranscoder.MessagePackToJson(ref reader), ref writer);
                    }

                    continue;
                default:
                    if (Has(at, field))
                    {
                        writer.WriteRaw(MessagePackKeys[field]);
                        writer.WriteRaw(span.Slice(at[field * 2], at[(field * 2) + 1]));
                    }

                    continue;
            }
        }
    }

    private static void WriteJson(Utf8JsonWriter writer, ReadOnlyMemory<byte> stored, in Options options)
    {
        Span<int> at = stackalloc int[FieldCount * 2];
        if (!TryIndex(stored, at))
        {
            JsonProtocolWriter.WriteMessage(writer, Decoded(stored, options));
            return;
        }

        writer.WriteStartObject();
        var binary = false;
        for (var field = 0; field < FieldCount; field++)
        {
            switch (field)
            {
                case ConnectionId when options.WithoutConnectionId:
                    continue;
                case Timestamp:
                    if (!options.WithoutTimestamp && (options.Timestamp ?? (Has(at, Timestamp) ? ReaderAt(stored, at, Timestamp).ReadInt64() : (long?)null)) is { } time)
                    {
                        writer.WriteNumber(JsonKeys[field], time);
                    }

                    continue;
                case Serial when options.Position is { } position:
                    var serial = t_serial ??= new byte[MaxSerialBytes];
                    writer.WriteString(JsonKeys[field], serial.AsSpan(0, FormatSerial(position, serial)));
                    continue;
                case Data when Has(at, field):
                    {
                        var reader = ReaderAt(stored, at, field);
                        if (reader.NextMessagePackType == MessagePackType.Binary)
                        {
                            binary = true;
                            writer.WriteBase64String(JsonKeys[field], Contiguous(reader.ReadBytes()!.Value));
                        }
                        else
                        {
                            writer.WriteString(JsonKeys[field], StringAt(stored.Span, at, field));
                        }

                        continue;
                    }

                case Encoding:
                    // Binary data goes as base64, a step the encoding names last (as JsonProtocolWriter does).
                    if (Has(at, field))
                    {
                        var reader = ReaderAt(stored, at, field);
                        if (binary)
                        {
                            writer.WriteString(JsonKeys[field], ProtocolCodecs.AppendEncoding(reader.ReadString(), "base64"));
                        }
                        else
                        {
                            writer.WriteString(JsonKeys[field], StringAt(stored.Span, at, field));
                        }
                    }
                    else if (binary)
                    {
                        writer.WriteString(JsonKeys[field], "base64"u8);
                    }

                    continue;
                case Action when Has(at, field):
                    writer.WriteNumber(JsonKeys[field], (int)ReaderAt(stored, at, Action).ReadInt64());
                    continue;
                case Extras or Version when Has(at, field):
                    {
                        writer.WritePropertyName(JsonKeys[field]);
                        var reader = ReaderAt(stored, at, field);
                        PayloadTranscoder.WriteJson(ref reader, writer);
                        continue;
                    }

                default:
                    if (Has(at, field))
                    {
                        writer.WriteString(JsonKeys[field], StringAt(stored.Span, at, field));
                    }

                    continue;
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// A string field's UTF-8, past its MessagePack header (fixstr, str8, str16 or str32: <see cref="TryIndex"/> found a
    /// string there, of valid UTF-8, which the writer escapes as it escapes a string). Read from the header's first byte
    /// rather than with a reader, which costs more than the copy for the short strings a message mostly has.
    /// </summary>
    private static ReadOnlySpan<byte> StringAt(ReadOnlySpan<byte> stored, Span<int> at, int field)
    {
        var value = stored.Slice(at[field * 2], at[(field * 2) + 1]);
        var header = value[0] switch { 0xd9 => 2, 0xda => 3, 0xdb => 5, _ => 1 };
        return value[header..];
    }

    /// <summary>
    /// Where each field's value lies (<paramref name="at"/>: start and length per field, length 0 when absent or nil,
    /// as a decode leaves it unset); false when only a decode reads these bytes as it should.
    /// </summary>
    private static bool TryIndex(ReadOnlyMemory<byte> stored, Span<int> at)
    {
        at.Clear();
        var reader = new MessagePackReader(stored);
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            return false;
        }

        var seen = 0;
        for (var count = reader.ReadMapHeader(); count > 0; count--)
        {
            if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out var key))
            {
                return false;
            }

            var field = FieldOf(key);
            if (field >= 0)
            {
                if ((seen & (1 << field)) != 0)
                {
                    return false; // a key twice: which one a decode keeps depends on nils
                }

                seen |= 1 << field;
            }

            if (reader.TryReadNil())
            {
                continue;
            }

            var start = (int)reader.Consumed;
            if (field < 0)
            {
                PayloadTranscoder.Skip(ref reader);
                continue;
            }

            var type = reader.NextMessagePackType;
            var ok = field switch
            {
                Data when type == MessagePackType.Binary => reader.ReadBytes() is not null,
                Timestamp => type == MessagePackType.Integer && IsInRange(ref reader, long.MinValue, long.MaxValue),
                Action => type == MessagePackType.Integer && IsInRange(ref reader, int.MinValue, int.MaxValue),
                Extras or Version => Skipped(ref reader),
                _ => type == MessagePackType.String && reader.TryReadStringSpan(out var utf8) && System.Text.Unicode.Utf8.IsValid(utf8),
            };
            if (!ok)
            {
                return false;
            }

            at[field * 2] = start;
            at[(field * 2) + 1] = (int)reader.Consumed - start;
        }

        // Text data under a base64 step is turned into bytes by a decode.
        if (Has(at, Data) && Has(at, Encoding) && new MessagePackReader(stored.Slice(at[Data * 2])).NextMessagePackType == MessagePackType.String)
        {
            var encoding = ReaderAt(stored, at, Encoding);
            encoding.TryReadStringSpan(out var steps);
            if (steps.SequenceEqual("base64"u8) || steps.EndsWith("/base64"u8))
            {
                return false;
            }
        }

        return true;
    }

    private static int FieldOf(ReadOnlySpan<byte> key) => key.Length switch
    {
        2 when key.SequenceEqual("id"u8) => Id,
        4 when key.SequenceEqual("name"u8) => Name,
        4 when key.SequenceEqual("data"u8) => Data,
        8 when key.SequenceEqual("encoding"u8) => Encoding,
        8 when key.SequenceEqual("clientId"u8) => ClientId,
        12 when key.SequenceEqual("connectionId"u8) => ConnectionId,
        13 when key.SequenceEqual("connectionKey"u8) => ConnectionKey,
        9 when key.SequenceEqual("timestamp"u8) => Timestamp,
        6 when key.SequenceEqual("extras"u8) => Extras,
        6 when key.SequenceEqual("action"u8) => Action,
        6 when key.SequenceEqual("serial"u8) => Serial,
        7 when key.SequenceEqual("version"u8) => Version,
        _ => -1,
    };

    /// <summary>Reads an integer: whether a decode reads it as a number of that range (<c>action</c> an int,
    /// <c>timestamp</c> a long).</summary>
    private static bool IsInRange(ref MessagePackReader reader, long min, long max)
    {
        if (reader.NextCode == global::MessagePack.MessagePackCode.UInt64)
        {
            return reader.ReadUInt64() <= (ulong)max;
        }

        var number = reader.ReadInt64();
        return number >= min && number <= max;
    }

    private static bool Skipped(ref MessagePackReader reader)
    {
        PayloadTranscoder.Skip(ref reader);
        return true;
    }

    /// <summary>
    /// Whether a JSON-valued field's MessagePack is what a decode (to JSON) and an encode (back) would write: maps with
    /// string keys, arrays, valid strings, integers, booleans and nil, no deeper than the codecs allow. Floats
    /// (integral ones come back as integers) and binary (a base64 string in JSON) are not.
    /// </summary>
    private static bool IsJsonStable(ReadOnlyMemory<byte> value)
    {
        var reader = new MessagePackReader(value);
        return IsJsonStable(ref reader, 0);
    }

    private static bool IsJsonStable(ref MessagePackReader reader, int depth)
    {
        if (depth >= JsonProtocolCodec.MaxDepth)
        {
            return false;
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                for (var count = reader.ReadMapHeader(); count > 0; count--)
                {
                    if (!IsStableString(ref reader) || !IsJsonStable(ref reader, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case MessagePackType.Array:
                for (var count = reader.ReadArrayHeader(); count > 0; count--)
                {
                    if (!IsJsonStable(ref reader, depth + 1))
                    {
                        return false;
                    }
                }

                return true;
            case MessagePackType.String:
                return IsStableString(ref reader);
            case MessagePackType.Integer or MessagePackType.Boolean or MessagePackType.Nil:
                reader.Skip();
                return true;
            default:
                return false;
        }
    }

    private static bool IsStableString(ref MessagePackReader reader) =>
        reader.NextMessagePackType == MessagePackType.String && reader.TryReadStringSpan(out var utf8) && System.Text.Unicode.Utf8.IsValid(utf8);

    private static bool Has(Span<int> at, int field) => at[(field * 2) + 1] > 0;

    private static MessagePackReader ReaderAt(ReadOnlyMemory<byte> stored, Span<int> at, int field) =>
        new(stored.Slice(at[field * 2], at[(field * 2) + 1]));

    private static ReadOnlySpan<byte> Contiguous(ReadOnlySequence<byte> bytes) => bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray();

    private static int FormatSerial(LogPosition position, Span<byte> utf8)
    {
        Span<char> chars = stackalloc char[MaxSerialBytes];
        var serial = position.TryFormat(chars, out var written) ? chars[..written] : position.ToSerial().AsSpan();
        return System.Text.Encoding.UTF8.GetBytes(serial, utf8);
    }

    /// <summary>The codec's way: the message decoded, given its position, and encoded.</summary>
    private static Message Decoded(ReadOnlyMemory<byte> stored, in Options options)
    {
        var message = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(stored));
        if (options.Position is { } position)
        {
            message.Serial = position.ToSerial();
        }

        message.Timestamp = options.Timestamp ?? message.Timestamp;
        message.ConnectionId = options.WithoutConnectionId ? null : message.ConnectionId;
        message.Timestamp = options.WithoutTimestamp ? null : message.Timestamp;
        return message;
    }

    private static byte[][] EncodeKeys()
    {
        string[] names = ["id", "name", "data", "encoding", "clientId", "connectionId", "connectionKey", "timestamp", "extras", "action", "serial", "version"];
        return Array.ConvertAll(names, static name =>
        {
            var buffer = new ArrayBufferWriter<byte>(16);
            var writer = new MessagePackWriter(buffer);
            writer.Write(name);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        });
    }

    private readonly record struct Options(LogPosition? Position, long? Timestamp, bool WithoutConnectionId, bool WithoutTimestamp);
}
