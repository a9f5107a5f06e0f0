using System.Buffers;
using System.Text.Json;

namespace TokenWire.Protocol.Json;

/// <summary>Reads protocol types from JSON with Utf8JsonReader. Unknown fields are skipped (RSF1).</summary>
internal static class JsonProtocolReader
{
    public static JsonTokenType ReadToken(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("unexpected end of input");
        }

        return reader.TokenType;
    }

    public static void ExpectEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("trailing data after the value");
        }
    }

    /// <param name="serverFields">Also read the fields only a server sends (<see cref="Message.Annotations"/>): for
    /// clients, never for a server reading what clients send.</param>
    /// <param name="strings">The connection's recent strings, reused for the channel and the messages' names,
    /// encodings and clientIds; null to decode each anew.</param>
    public static ProtocolMessage ReadProtocolMessage(ref Utf8JsonReader reader, ReadOnlySequence<byte> input, bool serverFields = false, RecentStrings? strings = null)
    {
        Expect(ref reader, JsonTokenType.StartObject, "ProtocolMessage");
        var pm = new ProtocolMessage();
        var hasAction = false;
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("action"u8))
            {
                ReadToken(ref reader);
                pm.Action = (ProtocolAction)ReadInt(ref reader);
                hasAction = true;
            }
            else if (reader.ValueTextEquals("flags"u8))
            {
                ReadToken(ref reader);
                pm.Flags = (ProtocolFlags)(reader.TokenType == JsonTokenType.Null ? 0 : ReadInt(ref reader));
            }
            else if (reader.ValueTextEquals("count"u8))
            {
                ReadToken(ref reader);
                pm.Count = ReadNullableInt(ref reader);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                ReadToken(ref reader);
                pm.Error = ReadError(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                pm.Id = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("channel"u8))
            {
                pm.Channel = ReadString(ref reader, strings);
            }
            else if (reader.ValueTextEquals("channelSerial"u8))
            {
                pm.ChannelSerial = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("connectionId"u8))
            {
                pm.ConnectionId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("msgSerial"u8))
            {
                ReadToken(ref reader);
                pm.MsgSerial = ReadNullableLong(ref reader);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                ReadToken(ref reader);
                pm.Timestamp = ReadNullableLong(ref reader);
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                pm.Messages = ReadMessages(ref reader, input, serverFields, strings);
            }
            else if (reader.ValueTextEquals("presence"u8))
            {
                pm.Presence = ReadMessageList(ref reader, input, strings)?.ConvertAll(PresenceMessage.FromMessage);
            }
            else if (reader.ValueTextEquals("annotations"u8))
            {
                pm.Annotations = ReadAnnotationArray(ref reader, input);
            }
            else if (reader.ValueTextEquals("auth"u8))
            {
                pm.AuthAccessToken = ReadAuth(ref reader);
            }
            else if (reader.ValueTextEquals("connectionDetails"u8))
            {
                pm.ConnectionDetails = ReadConnectionDetails(ref reader);
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                pm.Params = ReadStringMap(ref reader);
            }
            else if (reader.ValueTextEquals("res"u8))
            {
                pm.Res = ReadRes(ref reader);
            }
            else
            {
                ReadToken(ref reader);
                reader.Skip();
            }
        }

        if (!hasAction)
        {
            throw new JsonException("ProtocolMessage has no action");
        }

        return pm;
    }

    public static Message ReadMessage(ref Utf8JsonReader reader, ReadOnlySequence<byte> input, bool serverFields = false) => ReadMessage(ref reader, input, null, serverFields, null);

    /// <summary>TAN2: a message's fields plus <c>messageSerial</c>, <c>type</c> and <c>count</c>.</summary>
    public static Annotation ReadAnnotation(ref Utf8JsonReader reader, ReadOnlySequence<byte> input)
    {
        var fields = new AnnotationFields();
        return Annotation.FromCarrier(ReadMessage(ref reader, input, fields), fields);
    }

    private static Message ReadMessage(ref Utf8JsonReader reader, ReadOnlySequence<byte> input, AnnotationFields? annotation, bool serverFields = false, RecentStrings? strings = null)
    {
        Expect(ref reader, JsonTokenType.StartObject, "Message");
        var message = new Message();
        string? dataString = null;
        string? dataJson = null;
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                message.Id = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                message.Name = ReadString(ref reader, strings);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                ReadToken(ref reader);
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        dataString = reader.GetString();
                        break;
                    case JsonTokenType.Null:
                        break;
                    default:
                        // REST users may post JSON values directly; Ably stores them as JSON text with encoding json.
                        dataJson = System.Text.Encoding.UTF8.GetString(RawValue(ref reader, input));
                        break;
                }
            }
            else if (reader.ValueTextEquals("encoding"u8))
            {
                message.Encoding = ReadString(ref reader, strings);
            }
            else if (reader.ValueTextEquals("clientId"u8))
            {
                message.ClientId = ReadString(ref reader, strings);
            }
            else if (reader.ValueTextEquals("connectionId"u8))
            {
                message.ConnectionId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("connectionKey"u8))
            {
                message.ConnectionKey = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("timestamp"u8))
            {
                ReadToken(ref reader);
                message.Timestamp = ReadNullableLong(ref reader);
            }
            else if (reader.ValueTextEquals("extras"u8))
            {
                ReadToken(ref reader);
                message.Extras = ReadPayload(ref reader, input);
            }
            else if (reader.ValueTextEquals("action"u8))
            {
                ReadToken(ref reader);
                message.Action = ReadNullableInt(ref reader);
            }
            else if (reader.ValueTextEquals("serial"u8))
            {
                message.Serial = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("version"u8))
            {
                ReadToken(ref reader);
                message.Version = ReadPayload(ref reader, input);
            }
            else if (serverFields && reader.ValueTextEquals("annotations"u8))
            {
                ReadToken(ref reader);
                message.Annotations = ReadPayload(ref reader, input);
            }
            else if (annotation is not null && reader.ValueTextEquals("messageSerial"u8))
            {
                annotation.MessageSerial = ReadString(ref reader);
            }
            else if (annotation is not null && reader.ValueTextEquals("type"u8))
            {
                annotation.Type = ReadString(ref reader);
            }
            else if (annotation is not null && reader.ValueTextEquals("count"u8))
            {
                ReadToken(ref reader);
                annotation.Count = ReadNullableInt(ref reader);
            }
            else
            {
                ReadToken(ref reader);
                reader.Skip();
            }
        }

        if (dataJson is not null)
        {
            message.Data = MessageData.FromText(dataJson);
            message.Encoding = ProtocolCodecs.AppendEncoding(message.Encoding, "json");
        }
        else if (dataString is not null)
        {
            if (ProtocolCodecs.TryStripBase64(message.Encoding, out var rest))
            {
                message.Data = MessageData.FromBytes(DecodeBase64(dataString));
                message.Encoding = rest;
            }
            else
            {
                message.Data = MessageData.FromText(dataString);
            }
        }

        return message;
    }

    private static byte[] DecodeBase64(string value)
    {
        try
        {
            return Convert.FromBase64String(value);
        }
        catch (FormatException ex)
        {
            throw new ProtocolException(ErrorCodes.InvalidMessageData, "Message data is not valid base64", ex);
        }
    }

    /// <summary>
    /// A MESSAGE's messages. The common one-message frame becomes an array of one: a list would cost its own object
    /// and an array of four.
    /// </summary>
    private static IReadOnlyList<Message>? ReadMessages(ref Utf8JsonReader reader, ReadOnlySequence<byte> input, bool serverFields, RecentStrings? strings)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "messages");
        if (ReadToken(ref reader) == JsonTokenType.EndArray)
        {
            return [];
        }

        var first = ReadMessage(ref reader, input, null, serverFields, strings);
        if (ReadToken(ref reader) == JsonTokenType.EndArray)
        {
            return [first];
        }

        var messages = new List<Message> { first };
        do
        {
            messages.Add(ReadMessage(ref reader, input, null, serverFields, strings));
        }
        while (ReadToken(ref reader) != JsonTokenType.EndArray);

        return messages;
    }

    private static List<Message>? ReadMessageList(ref Utf8JsonReader reader, ReadOnlySequence<byte> input, RecentStrings? strings)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "messages");
        var messages = new List<Message>();
        while (ReadToken(ref reader) != JsonTokenType.EndArray)
        {
            messages.Add(ReadMessage(ref reader, input, null, false, strings));
        }

        return messages;
    }

    private static List<Annotation>? ReadAnnotationArray(ref Utf8JsonReader reader, ReadOnlySequence<byte> input)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "annotations");
        var annotations = new List<Annotation>();
        while (ReadToken(ref reader) != JsonTokenType.EndArray)
        {
            annotations.Add(ReadAnnotation(ref reader, input));
        }

        return annotations;
    }

    private static JsonPayload? ReadPayload(ref Utf8JsonReader reader, ReadOnlySequence<byte> input) =>
        reader.TokenType == JsonTokenType.Null ? null : new JsonPayload(RawValue(ref reader, input));

    /// <summary>
    /// Copies the raw bytes of the value the reader is positioned on, leaving it at the value's end, after checking
    /// that they can be relayed: Utf8JsonReader skips a value without looking inside its strings, but the msgpack
    /// writer decodes them for every msgpack subscriber, so invalid UTF-8 or half a surrogate pair is refused here,
    /// at the publisher, and never reaches a fan-out (found by DecoderFuzzTests).
    /// </summary>
    private static byte[] RawValue(ref Utf8JsonReader reader, ReadOnlySequence<byte> input)
    {
        var start = reader.TokenStartIndex;
        reader.Skip();
        var end = reader.BytesConsumed;
        var bytes = input.Slice(start, end - start).ToArray();
        JsonStrings.EnsureDecodable(bytes);
        return bytes;
    }

    private static string? ReadAuth(ref Utf8JsonReader reader)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "auth");
        string? token = null;
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("accessToken"u8))
            {
                token = ReadString(ref reader);
            }
            else
            {
                ReadToken(ref reader);
                reader.Skip();
            }
        }

        return token;
    }

    private static Dictionary<string, string>? ReadStringMap(ref Utf8JsonReader reader)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "params");
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            ReadToken(ref reader);
            map[key] = reader.TokenType switch
            {
                JsonTokenType.String => reader.GetString()!,
                JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False =>
                    System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
                _ => throw new JsonException("params values must be strings"),
            };
        }

        return map;
    }

    private static List<PublishResult>? ReadRes(ref Utf8JsonReader reader)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray, "res");
        var results = new List<PublishResult>();
        while (ReadToken(ref reader) != JsonTokenType.EndArray)
        {
            var serials = new List<string?>();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                while (ReadToken(ref reader) == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("serials"u8))
                    {
                        ReadToken(ref reader);
                        Expect(ref reader, JsonTokenType.StartArray, "serials");
                        while (ReadToken(ref reader) != JsonTokenType.EndArray)
                        {
                            serials.Add(reader.TokenType == JsonTokenType.Null ? null : reader.GetString());
                        }
                    }
                    else
                    {
                        ReadToken(ref reader);
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Skip();
            }

            results.Add(new PublishResult(serials));
        }

        return results;
    }

    public static ErrorInfo? ReadError(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "error");
        int code = 0, status = 0;
        var message = string.Empty;
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("code"u8))
            {
                ReadToken(ref reader);
                code = ReadNullableInt(ref reader) ?? 0;
            }
            else if (reader.ValueTextEquals("statusCode"u8))
            {
                ReadToken(ref reader);
                status = ReadNullableInt(ref reader) ?? 0;
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                message = ReadString(ref reader) ?? string.Empty;
            }
            else
            {
                ReadToken(ref reader);
                reader.Skip();
            }
        }

        return new ErrorInfo(code, status, message);
    }

    private static ConnectionDetails? ReadConnectionDetails(ref Utf8JsonReader reader)
    {
        ReadToken(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject, "connectionDetails");
        string? key = null, clientId = null, serverId = null;
        int maxMessageSize = 0, maxInbound = 0, maxOutbound = 0, maxFrame = 0;
        long ttl = 0, idle = 0;
        while (ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("connectionKey"u8))
            {
                key = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("clientId"u8))
            {
                clientId = ReadString(ref reader);
            }
            else if (reader.ValueTextEquals("serverId"u8))
            {
                serverId = ReadString(ref reader);
            }
            else
            {
                var field = reader.GetString();
                ReadToken(ref reader);
                switch (field)
                {
                    case "maxMessageSize": maxMessageSize = ReadNullableInt(ref reader) ?? 0; break;
                    case "maxInboundRate": maxInbound = ReadNullableInt(ref reader) ?? 0; break;
                    case "maxOutboundRate": maxOutbound = ReadNullableInt(ref reader) ?? 0; break;
                    case "maxFrameSize": maxFrame = ReadNullableInt(ref reader) ?? 0; break;
                    case "connectionStateTtl": ttl = ReadNullableLong(ref reader) ?? 0; break;
                    case "maxIdleInterval": idle = ReadNullableLong(ref reader) ?? 0; break;
                    default: reader.Skip(); break;
                }
            }
        }

        return new ConnectionDetails
        {
            ConnectionKey = key ?? string.Empty,
            ClientId = clientId,
            ServerId = serverId,
            MaxMessageSize = maxMessageSize,
            MaxInboundRate = maxInbound,
            MaxOutboundRate = maxOutbound,
            MaxFrameSize = maxFrame,
            ConnectionStateTtl = ttl,
            MaxIdleInterval = idle,
        };
    }

    /// <summary>A string value, from <paramref name="strings"/> when it is kept there (unescaped and contiguous).</summary>
    private static string? ReadString(ref Utf8JsonReader reader, RecentStrings? strings)
    {
        ReadToken(ref reader);
        if (strings is not null && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence
            && strings.TryGet(reader.ValueSpan, out var kept))
        {
            return kept;
        }

        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new JsonException($"expected a string, got {reader.TokenType}"),
        };
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        ReadToken(ref reader);
        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Null => null,
            _ => throw new JsonException($"expected a string, got {reader.TokenType}"),
        };
    }

    private static int ReadInt(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value)
            ? value
            : throw new JsonException($"expected an integer, got {reader.TokenType}");

    private static int? ReadNullableInt(ref Utf8JsonReader reader) =>
        reader.TokenType == JsonTokenType.Null ? null : ReadInt(ref reader);

    private static long? ReadNullableLong(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException($"expected a number, got {reader.TokenType}");
        }

        if (reader.TryGetInt64(out var value))
        {
            return value;
        }

        // JavaScript may send whole numbers in exponent form.
        var d = reader.GetDouble();
        return d is >= long.MinValue and <= long.MaxValue ? (long)d : throw new JsonException("number out of range");
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"{what}: expected {type}, got {reader.TokenType}");
        }
    }
}
