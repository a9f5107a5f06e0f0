using System.Buffers;
using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackType = global::MessagePack.MessagePackType;

namespace TokenWire.Protocol.MessagePack;

/// <summary>Reads protocol types from MessagePack. Unknown keys are skipped; numbers may come in any width.</summary>
internal static class MessagePackProtocolReader
{
    private const int KnownKeyMaxLength = 32;

    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> KnownKeys = new Dictionary<string, string>(
        new[]
        {
            "accessToken", "action", "auth", "channel", "channelSerial", "clientId", "code", "connectionDetails", "connectionId",
            "connectionKey", "connectionStateTtl", "count", "data", "encoding", "error", "extras", "flags", "id", "maxFrameSize",
            "maxIdleInterval", "maxInboundRate", "maxMessageSize", "maxOutboundRate", "message", "messages", "msgSerial", "name",
            "annotations", "messageSerial", "type",
            "params", "presence", "res", "serial", "serials", "serverId", "statusCode", "timestamp", "version",
        }.ToDictionary(static key => key),
        StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <param name="serverFields">Also read the fields only a server sends (<see cref="Message.Annotations"/>): for
    /// clients, never for a server reading what clients send.</param>
    /// <param name="strings">The connection's recent strings, reused for the channel and the messages' names,
    /// encodings and clientIds; null to decode each anew.</param>
    public static ProtocolMessage ReadProtocolMessage(ref MessagePackReader reader, bool serverFields = false, RecentStrings? strings = null)
    {
        var count = ReadMapHeader(ref reader, "ProtocolMessage");
        var pm = new ProtocolMessage();
        var hasAction = false;
        for (var i = 0; i < count; i++)
        {
            var key = ReadKey(ref reader);
            if (TryReadNil(ref reader))
            {
                continue;
            }

            switch (key)
            {
                case "action": pm.Action = (ProtocolAction)ReadInt(ref reader); hasAction = true; break;
                case "flags": pm.Flags = (ProtocolFlags)ReadInt(ref reader); break;
                case "count": pm.Count = ReadInt(ref reader); break;
                case "error": pm.Error = ReadError(ref reader); break;
                case "id": pm.Id = ReadString(ref reader); break;
                case "channel": pm.Channel = ReadString(ref reader, strings); break;
                case "channelSerial": pm.ChannelSerial = ReadString(ref reader); break;
                case "connectionId": pm.ConnectionId = ReadString(ref reader); break;
                case "msgSerial": pm.MsgSerial = ReadLong(ref reader); break;
                case "timestamp": pm.Timestamp = ReadLong(ref reader); break;
                case "messages":
                    {
                        // An array, not a list: one object fewer per frame.
                        var n = ReadArrayHeader(ref reader, "messages");
                        var messages = n == 0 ? Array.Empty<Message>() : new Message[n];
                        for (var j = 0; j < n; j++)
                        {
                            messages[j] = ReadMessage(ref reader, null, serverFields, strings);
                        }

                        pm.Messages = messages;
                        break;
                    }

                case "presence":
                    {
                        var n = ReadArrayHeader(ref reader, "presence");
                        var items = new List<PresenceMessage>(n);
                        for (var j = 0; j < n; j++)
                        {
                            items.Add(PresenceMessage.FromMessage(ReadMessage(ref reader, null, false, strings)));
                        }

                        pm.Presence = items;
                        break;
                    }

                case "annotations":
                    {
                        var n = ReadArrayHeader(ref reader, "annotations");
                        var items = new List<Annotation>(n);
                        for (var j = 0; j < n; j++)
                        {
                            items.Add(ReadAnnotation(ref reader));
                        }

                        pm.Annotations = items;
                        break;
                    }

                case "auth":
                    {
                        var n = ReadMapHeader(ref reader, "auth");
                        for (var j = 0; j < n; j++)
                        {
                            if (ReadKey(ref reader) == "accessToken" && !TryReadNil(ref reader))
                            {
                                pm.AuthAccessToken = ReadString(ref reader);
                            }
                            else
                            {
                                PayloadTranscoder.Skip(ref reader);
                            }
                        }

                        break;
                    }

                case "connectionDetails": pm.ConnectionDetails = ReadConnectionDetails(ref reader); break;
                case "params":
                    {
                        var n = ReadMapHeader(ref reader, "params");
                        var map = new Dictionary<string, string>(n, StringComparer.Ordinal);
                        for (var j = 0; j < n; j++)
                        {
                            var name = ReadKey(ref reader);
                            map[name] = ReadScalarAsString(ref reader);
                        }

                        pm.Params = map;
                        break;
                    }

                case "res": pm.Res = ReadRes(ref reader); break;
                default: PayloadTranscoder.Skip(ref reader); break;
            }
        }

        if (!hasAction)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "ProtocolMessage has no action");
        }

        return pm;
    }

    public static Message ReadMessage(ref MessagePackReader reader, bool serverFields = false) => ReadMessage(ref reader, null, serverFields);

    /// <summary>TAN2: a message's fields plus <c>messageSerial</c>, <c>type</c> and <c>count</c>.</summary>
    public static Annotation ReadAnnotation(ref MessagePackReader reader)
    {
        var fields = new AnnotationFields();
        return Annotation.FromCarrier(ReadMessage(ref reader, fields), fields);
    }

    private static Message ReadMessage(ref MessagePackReader reader, AnnotationFields? annotation, bool serverFields = false, RecentStrings? strings = null)
    {
        var count = ReadMapHeader(ref reader, "Message");
        var message = new Message();
        for (var i = 0; i < count; i++)
        {
            var key = ReadKey(ref reader);
            if (TryReadNil(ref reader))
            {
                continue;
            }

            switch (key)
            {
                case "id": message.Id = ReadString(ref reader); break;
                case "name": message.Name = ReadString(ref reader, strings); break;
                case "data":
                    switch (reader.NextMessagePackType)
                    {
                        case MessagePackType.String: message.Data = MessageData.FromText(reader.ReadString()!); break;
                        case MessagePackType.Binary: message.Data = MessageData.FromBytes(reader.ReadBytes()!.Value.ToArray()); break;
                        default:
                            // A structured value: store it as JSON text (the encoding gets "json" below).
                            message.Data = MessageData.FromText(
                                System.Text.Encoding.UTF8.GetString(PayloadTranscoder.MessagePackToJson(ref reader)));
                            message.Encoding = ProtocolCodecs.AppendEncoding(message.Encoding, "json");
                            break;
                    }

                    break;
                case "encoding":
                    var encoding = ReadString(ref reader, strings);
                    message.Encoding = message.Encoding is null ? encoding : encoding + "/" + message.Encoding;
                    break;
                case "clientId": message.ClientId = ReadString(ref reader, strings); break;
                case "connectionId": message.ConnectionId = ReadString(ref reader); break;
                case "connectionKey": message.ConnectionKey = ReadString(ref reader); break;
                case "timestamp": message.Timestamp = ReadLong(ref reader); break;
                case "extras": message.Extras = ReadPayload(ref reader, serverFields); break;
                case "action": message.Action = ReadInt(ref reader); break;
                case "serial": message.Serial = ReadString(ref reader); break;
                case "version": message.Version = ReadPayload(ref reader, serverFields); break;
                case "annotations" when serverFields: message.Annotations = ReadPayload(ref reader, serverFields); break;
                case "messageSerial" when annotation is not null: annotation.MessageSerial = ReadString(ref reader); break;
                case "type" when annotation is not null: annotation.Type = ReadString(ref reader); break;
                case "count" when annotation is not null: annotation.Count = ReadInt(ref reader); break;
                default: PayloadTranscoder.Skip(ref reader); break;
            }
        }

        // A JSON-style base64 layer over msgpack (rare, but legal): store the bytes canonically.
        if (message.Data.Text is { } text && ProtocolCodecs.TryStripBase64(message.Encoding, out var rest))
        {
            try
            {
                message.Data = MessageData.FromBytes(Convert.FromBase64String(text));
                message.Encoding = rest;
            }
            catch (FormatException ex)
            {
                throw new ProtocolException(ErrorCodes.InvalidMessageData, "Message data is not valid base64", ex);
            }
        }

        return message;
    }

    /// <summary>
    /// A free-form value. A client keeps it as it came, checked, and transcodes it only if it is looked at; the server
    /// holds what clients send as JSON, which every other part of it reads.
    /// </summary>
    private static JsonPayload ReadPayload(ref MessagePackReader reader, bool serverFields) =>
        serverFields
            ? JsonPayload.FromMessagePack(PayloadTranscoder.ReadForJson(ref reader))
            : new JsonPayload(PayloadTranscoder.MessagePackToJson(ref reader));

    private static ErrorInfo ReadError(ref MessagePackReader reader)
    {
        var count = ReadMapHeader(ref reader, "error");
        int code = 0, status = 0;
        var text = string.Empty;
        for (var i = 0; i < count; i++)
        {
            var key = ReadKey(ref reader);
            if (TryReadNil(ref reader))
            {
                continue;
            }

            switch (key)
            {
                case "code": code = ReadInt(ref reader); break;
                case "statusCode": status = ReadInt(ref reader); break;
                case "message": text = ReadString(ref reader) ?? string.Empty; break;
                default: PayloadTranscoder.Skip(ref reader); break;
            }
        }

        return new ErrorInfo(code, status, text);
    }

    private static ConnectionDetails ReadConnectionDetails(ref MessagePackReader reader)
    {
        var count = ReadMapHeader(ref reader, "connectionDetails");
        string? key = null, clientId = null, serverId = null;
        int maxMessageSize = 0, maxInbound = 0, maxOutbound = 0, maxFrame = 0;
        long ttl = 0, idle = 0;
        for (var i = 0; i < count; i++)
        {
            var name = ReadKey(ref reader);
            if (TryReadNil(ref reader))
            {
                continue;
            }

            switch (name)
            {
                case "connectionKey": key = ReadString(ref reader); break;
                case "clientId": clientId = ReadString(ref reader); break;
                case "serverId": serverId = ReadString(ref reader); break;
                case "maxMessageSize": maxMessageSize = ReadInt(ref reader); break;
                case "maxInboundRate": maxInbound = ReadInt(ref reader); break;
                case "maxOutboundRate": maxOutbound = ReadInt(ref reader); break;
                case "maxFrameSize": maxFrame = ReadInt(ref reader); break;
                case "connectionStateTtl": ttl = ReadLong(ref reader); break;
                case "maxIdleInterval": idle = ReadLong(ref reader); break;
                default: PayloadTranscoder.Skip(ref reader); break;
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

    private static List<PublishResult> ReadRes(ref MessagePackReader reader)
    {
        var count = ReadArrayHeader(ref reader, "res");
        var results = new List<PublishResult>(count);
        for (var i = 0; i < count; i++)
        {
            var serials = new List<string?>();
            if (TryReadNil(ref reader))
            {
                results.Add(new PublishResult(serials));
                continue;
            }

            var fields = ReadMapHeader(ref reader, "res entry");
            for (var j = 0; j < fields; j++)
            {
                if (ReadKey(ref reader) == "serials" && !TryReadNil(ref reader))
                {
                    var n = ReadArrayHeader(ref reader, "serials");
                    for (var k = 0; k < n; k++)
                    {
                        serials.Add(TryReadNil(ref reader) ? null : ReadString(ref reader));
                    }
                }
                else
                {
                    PayloadTranscoder.Skip(ref reader);
                }
            }

            results.Add(new PublishResult(serials));
        }

        return results;
    }

    /// <summary>A map key; the keys this reader knows come back as shared strings, so reading a frame allocates none.</summary>
    private static string ReadKey(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.String)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "MessagePack map keys must be strings");
        }

        if (!reader.TryReadStringSpan(out var utf8))
        {
            return reader.ReadString()!; // not contiguous in the input
        }

        Span<char> chars = stackalloc char[KnownKeyMaxLength];
        return utf8.Length <= KnownKeyMaxLength && System.Text.Encoding.UTF8.TryGetChars(utf8, chars, out var length) && KnownKeys.TryGetValue(chars[..length], out var known)
            ? known
            : System.Text.Encoding.UTF8.GetString(utf8);
    }

    private static bool TryReadNil(ref MessagePackReader reader) => reader.TryReadNil();

    /// <summary>A string value, from <paramref name="strings"/> when it is kept there (contiguous in the input).</summary>
    private static string? ReadString(ref MessagePackReader reader, RecentStrings? strings)
    {
        if (strings is null || reader.NextMessagePackType != MessagePackType.String)
        {
            return ReadString(ref reader);
        }

        var peek = reader.CreatePeekReader();
        if (peek.TryReadStringSpan(out var utf8) && strings.TryGet(utf8, out var kept))
        {
            reader = peek;
            return kept;
        }

        return ReadString(ref reader);
    }

    private static string? ReadString(ref MessagePackReader reader) =>
        reader.NextMessagePackType == MessagePackType.String
            ? reader.ReadString()
            : throw new ProtocolException(ErrorCodes.BadRequest, $"Expected a string, got {reader.NextMessagePackType}");

    private static string ReadScalarAsString(ref MessagePackReader reader) => reader.NextMessagePackType switch
    {
        MessagePackType.String => reader.ReadString()!,
        MessagePackType.Integer => reader.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
        MessagePackType.Boolean => reader.ReadBoolean() ? "true" : "false",
        MessagePackType.Float => reader.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => throw new ProtocolException(ErrorCodes.BadRequest, "params values must be strings"),
    };

    private static int ReadInt(ref MessagePackReader reader) => checked((int)ReadLong(ref reader));

    private static long ReadLong(ref MessagePackReader reader) => reader.NextMessagePackType switch
    {
        MessagePackType.Integer => reader.ReadInt64(),
        MessagePackType.Float => checked((long)reader.ReadDouble()),
        _ => throw new ProtocolException(ErrorCodes.BadRequest, $"Expected a number, got {reader.NextMessagePackType}"),
    };

    private static int ReadMapHeader(ref MessagePackReader reader, string what) =>
        reader.NextMessagePackType == MessagePackType.Map
            ? reader.ReadMapHeader()
            : throw new ProtocolException(ErrorCodes.BadRequest, $"{what}: expected a map, got {reader.NextMessagePackType}");

    private static int ReadArrayHeader(ref MessagePackReader reader, string what) =>
        reader.NextMessagePackType == MessagePackType.Array
            ? reader.ReadArrayHeader()
            : throw new ProtocolException(ErrorCodes.BadRequest, $"{what}: expected an array, got {reader.NextMessagePackType}");
}
