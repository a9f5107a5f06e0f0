using System.Buffers;
using System.Text.Json;
using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackType = global::MessagePack.MessagePackType;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol.MessagePack;

/// <summary>
/// Converts free-form values (extras, version, presence) between MessagePack and JSON, so a payload published in
/// one format is relayed to subscribers of the other. Binary inside such values becomes a base64 string in JSON.
/// </summary>
public static class PayloadTranscoder
{
    /// <summary>A scratch buffer that grew past this for one large value is dropped, not kept per thread.</summary>
    private const int MaxRetainedScratchBytes = 64 * 1024;

    [ThreadStatic]
    private static Scratch? t_scratch;

    /// <summary>Reads one MessagePack value and returns it as UTF-8 JSON. Depth is bounded against hostile input.</summary>
    public static byte[] MessagePackToJson(ref MessagePackReader reader)
    {
        // This thread's writer and buffer, so the only allocation is the result (taken out while in use).
        var scratch = t_scratch ?? new Scratch();
        t_scratch = null;
        try
        {
            scratch.Writer.Reset(scratch.Buffer);
            CopyValue(ref reader, scratch.Writer, 0);
            scratch.Writer.Flush();
            return scratch.Buffer.WrittenSpan.ToArray();
        }
        finally
        {
            scratch.Writer.Reset(Json.DetachedOutput.Instance);
            scratch.Buffer.ResetWrittenCount();
            if (scratch.Buffer.Capacity <= MaxRetainedScratchBytes)
            {
                t_scratch = scratch;
            }
        }
    }

    /// <summary>
    /// Reads one MessagePack value as its bytes, checked as <see cref="MessagePackToJson"/> checks it (the same errors,
    /// the same depth limit), so it can be transcoded later without failing: what a client keeps of extras and version.
    /// </summary>
    internal static byte[] ReadForJson(ref MessagePackReader reader)
    {
        var start = reader.Position;
        CheckValue(ref reader, 0);
        return reader.Sequence.Slice(start, reader.Position).ToArray();
    }

    /// <summary>Reads one MessagePack value and writes it as JSON to <paramref name="writer"/>: the bytes <see cref="MessagePackToJson"/> returns.</summary>
    internal static void WriteJson(ref MessagePackReader reader, Utf8JsonWriter writer) => CopyValue(ref reader, writer, 0);

    /// <summary>
    /// The length of the JSON <see cref="MessagePackToJson"/> returns for the value <paramref name="reader"/> is at (it
    /// reads the value): counted for maps, arrays, integers, booleans, nil and strings the writer copies unescaped;
    /// anything else (escapes, floats, binary) is written to this thread's scratch buffer and measured.
    /// </summary>
    public static int JsonLength(ref MessagePackReader reader)
    {
        var counter = reader;
        if (TryCountJson(ref counter, 0, out var length))
        {
            reader = counter;
            return length;
        }

        var scratch = t_scratch ?? new Scratch();
        t_scratch = null;
        try
        {
            scratch.Writer.Reset(scratch.Buffer);
            CopyValue(ref reader, scratch.Writer, 0);
            scratch.Writer.Flush();
            return scratch.Buffer.WrittenCount;
        }
        finally
        {
            scratch.Writer.Reset(Json.DetachedOutput.Instance);
            scratch.Buffer.ResetWrittenCount();
            if (scratch.Buffer.Capacity <= MaxRetainedScratchBytes)
            {
                t_scratch = scratch;
            }
        }
    }

    /// <summary>Writes a UTF-8 JSON value as MessagePack (integers as the smallest int type, like ably-js).</summary>
    public static void JsonToMessagePack(ReadOnlySpan<byte> utf8Json, ref MessagePackWriter writer)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = Json.JsonProtocolCodec.MaxDepth });
        reader.Read();
        WriteJsonValue(ref reader, ref writer);
    }

    private static void WriteJsonValue(ref Utf8JsonReader reader, ref MessagePackWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                {
                    // MessagePack needs the entry count up front; count on a copy of the reader.
                    var counter = reader;
                    var count = CountChildren(ref counter, JsonTokenType.EndObject);
                    writer.WriteMapHeader(count);
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        WriteJsonString(ref reader, ref writer);
                        reader.Read();
                        WriteJsonValue(ref reader, ref writer);
                    }

                    break;
                }

            case JsonTokenType.StartArray:
                {
                    var counter = reader;
                    var count = CountChildren(ref counter, JsonTokenType.EndArray);
                    writer.WriteArrayHeader(count);
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        WriteJsonValue(ref reader, ref writer);
                    }

                    break;
                }

            case JsonTokenType.String:
                WriteJsonString(ref reader, ref writer);
                break;
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var l))
                {
                    writer.Write(l);
                }
                else if (reader.TryGetUInt64(out var ul))
                {
                    writer.Write(ul);
                }
                else
                {
                    writer.Write(reader.GetDouble());
                }

                break;
            case JsonTokenType.True:
                writer.Write(true);
                break;
            case JsonTokenType.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    /// <summary>A JSON string or property name as a MessagePack string; copied as it is unless it has escapes to undo.</summary>
    private static void WriteJsonString(ref Utf8JsonReader reader, ref MessagePackWriter writer)
    {
        if (reader.ValueIsEscaped)
        {
            writer.Write(reader.GetString());
        }
        else
        {
            writer.WriteString(reader.ValueSpan);
        }
    }

    private static int CountChildren(ref Utf8JsonReader reader, JsonTokenType end)
    {
        var count = 0;
        while (reader.Read() && reader.TokenType != end)
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                reader.Read();
            }

            reader.Skip();
            count++;
        }

        return count;
    }

    private static void CopyValue(ref MessagePackReader reader, Utf8JsonWriter writer, int depth)
    {
        // Same limit as the JSON reader (MaxDepth levels), so whatever is accepted here can be re-encoded.
        if (depth >= Json.JsonProtocolCodec.MaxDepth)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack value nested too deeply");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    writer.WriteStartObject();
                    for (var i = 0; i < count; i++)
                    {
                        if (reader.NextMessagePackType != MessagePackType.String)
                        {
                            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack map keys must be strings");
                        }

                        CopyString(ref reader, writer, propertyName: true);

                        CopyValue(ref reader, writer, depth + 1);
                    }

                    writer.WriteEndObject();
                    break;
                }

            case MessagePackType.Array:
                {
                    var count = reader.ReadArrayHeader();
                    writer.WriteStartArray();
                    for (var i = 0; i < count; i++)
                    {
                        CopyValue(ref reader, writer, depth + 1);
                    }

                    writer.WriteEndArray();
                    break;
                }

            case MessagePackType.String:
                CopyString(ref reader, writer, propertyName: false);
                break;
            case MessagePackType.Binary:
                writer.WriteBase64StringValue(reader.ReadBytes()!.Value.ToArray());
                break;
            case MessagePackType.Integer:
                if (reader.NextCode == global::MessagePack.MessagePackCode.UInt64)
                {
                    writer.WriteNumberValue(reader.ReadUInt64());
                }
                else
                {
                    writer.WriteNumberValue(reader.ReadInt64());
                }

                break;
            case MessagePackType.Float:
                writer.WriteNumberValue(reader.ReadDouble());
                break;
            case MessagePackType.Boolean:
                writer.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                writer.WriteNullValue();
                break;
            default:
                // Extension types have no JSON form.
                throw new ProtocolException(ErrorCodes.BadRequest, "Unsupported MessagePack extension type");
        }
    }

    /// <summary><see cref="CopyValue"/>'s checks without the writing.</summary>
    private static void CheckValue(ref MessagePackReader reader, int depth)
    {
        if (depth >= Json.JsonProtocolCodec.MaxDepth)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack value nested too deeply");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    for (var i = 0; i < count; i++)
                    {
                        if (reader.NextMessagePackType != MessagePackType.String)
                        {
                            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack map keys must be strings");
                        }

                        reader.Skip();
                        CheckValue(ref reader, depth + 1);
                    }

                    break;
                }

            case MessagePackType.Array:
                {
                    var count = reader.ReadArrayHeader();
                    for (var i = 0; i < count; i++)
                    {
                        CheckValue(ref reader, depth + 1);
                    }

                    break;
                }

            case MessagePackType.Float:
                // The JSON writer refuses NaN and the infinities.
                if (!double.IsFinite(reader.ReadDouble()))
                {
                    throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack float has no JSON form (NaN or infinite)");
                }

                break;
            case MessagePackType.String or MessagePackType.Binary or MessagePackType.Integer or MessagePackType.Boolean or MessagePackType.Nil:
                reader.Skip();
                break;
            default:
                throw new ProtocolException(ErrorCodes.BadRequest, "Unsupported MessagePack extension type");
        }
    }

    /// <summary>
    /// A string copied as its UTF-8 bytes, without decoding them, when they are contiguous and valid; otherwise decoded
    /// by <see cref="MessagePackReader.ReadString"/>, which replaces invalid sequences.
    /// </summary>
    private static void CopyString(ref MessagePackReader reader, Utf8JsonWriter writer, bool propertyName)
    {
        var peek = reader;
        if (peek.TryReadStringSpan(out var utf8) && System.Text.Unicode.Utf8.IsValid(utf8))
        {
            reader = peek;
            if (propertyName)
            {
                writer.WritePropertyName(utf8);
            }
            else
            {
                writer.WriteStringValue(utf8);
            }
        }
        else if (propertyName)
        {
            writer.WritePropertyName(reader.ReadString() ?? string.Empty);
        }
        else
        {
            writer.WriteStringValue(reader.ReadString());
        }
    }

    /// <summary>What <see cref="CopyValue"/> writes for the value, counted; false where counting would have to
    /// repeat the writer's rules (escaping, number formatting of floats, base64).</summary>
    private static bool TryCountJson(ref MessagePackReader reader, int depth, out int length)
    {
        length = 0;
        if (depth >= Json.JsonProtocolCodec.MaxDepth)
        {
            return false;
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    length = 2 + (count > 0 ? count - 1 : 0); // braces and commas
                    for (var i = 0; i < count; i++)
                    {
                        if (!TryCountString(ref reader, out var key) || !TryCountJson(ref reader, depth + 1, out var value))
                        {
                            return false;
                        }

                        length += key + 1 + value; // "key":value
                    }

                    return true;
                }

            case MessagePackType.Array:
                {
                    var count = reader.ReadArrayHeader();
                    length = 2 + (count > 0 ? count - 1 : 0);
                    for (var i = 0; i < count; i++)
                    {
                        if (!TryCountJson(ref reader, depth + 1, out var value))
                        {
                            return false;
                        }

                        length += value;
                    }

                    return true;
                }

            case MessagePackType.String:
                return TryCountString(ref reader, out length);
            case MessagePackType.Integer:
                if (reader.NextCode == global::MessagePack.MessagePackCode.UInt64)
                {
                    length = DigitCount(reader.ReadUInt64());
                }
                else
                {
                    var number = reader.ReadInt64();
                    length = number < 0 ? 1 + DigitCount((ulong)-(number + 1) + 1) : DigitCount((ulong)number);
                }

                return true;
            case MessagePackType.Boolean:
                length = reader.ReadBoolean() ? 4 : 5;
                return true;
            case MessagePackType.Nil:
                reader.ReadNil();
                length = 4;
                return true;
            default:
                return false;
        }
    }

    /// <summary>A string the writer copies as it is: valid UTF-8 with nothing its encoder escapes, quoted.</summary>
    private static bool TryCountString(ref MessagePackReader reader, out int length)
    {
        length = 0;
        if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out var utf8)
            || !System.Text.Unicode.Utf8.IsValid(utf8) || Json.JsonProtocolCodec.WriterOptions.Encoder!.FindFirstCharacterToEncodeUtf8(utf8) >= 0)
        {
            return false;
        }

        length = utf8.Length + 2;
        return true;
    }

    private static int DigitCount(ulong number)
    {
        var digits = 1;
        while (number >= 10)
        {
            number /= 10;
            digits++;
        }

        return digits;
    }

    /// <summary>Skips one value without recursion limits of the library's own Skip (which recurses per level).</summary>
    public static void Skip(ref MessagePackReader reader, int depth = 0)
    {
        if (depth > Json.JsonProtocolCodec.MaxDepth)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack value nested too deeply");
        }

        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                {
                    var count = reader.ReadMapHeader();
                    for (var i = 0; i < count * 2; i++)
                    {
                        Skip(ref reader, depth + 1);
                    }

                    break;
                }

            case MessagePackType.Array:
                {
                    var count = reader.ReadArrayHeader();
                    for (var i = 0; i < count; i++)
                    {
                        Skip(ref reader, depth + 1);
                    }

                    break;
                }

            default:
                reader.Skip();
                break;
        }
    }

    private sealed class Scratch
    {
        public ArrayBufferWriter<byte> Buffer { get; } = new(256);

        public Utf8JsonWriter Writer { get; } = new(Json.DetachedOutput.Instance, Json.JsonProtocolCodec.WriterOptions);
    }
}
