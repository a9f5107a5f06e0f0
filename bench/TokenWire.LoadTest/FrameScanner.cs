using System.Buffers.Text;
using System.Text.Json;
using MessagePack;
using TokenWire.Protocol;

namespace TokenWire.LoadTest;

/// <summary>
/// Reads what a subscriber needs from an inbound frame — the action and, for MESSAGE, the publisher's msgSerial of
/// each message — without building the object graph. The server assigns ids <c>connectionId:msgSerial:index</c>
/// (reference §3.5), so the id alone tells the order in which the publisher sent a message.
/// With <see cref="DecodeMode.Full"/> the shared codecs decode the whole frame instead, checking the payload too.
/// </summary>
public static class FrameScanner
{
    /// <summary>Scans one frame; appends each message's msgSerial to <paramref name="serials"/>.</summary>
    /// <returns>The ProtocolMessage action.</returns>
    public static ProtocolAction Scan(WireFormat format, DecodeMode mode, ReadOnlyMemory<byte> frame, List<long> serials, ref long payloadErrors)
    {
        if (mode == DecodeMode.Full)
        {
            return ScanFull(format, frame, serials, ref payloadErrors);
        }

        return format == WireFormat.MessagePack ? ScanMessagePack(frame, serials) : ScanJson(frame.Span, serials);
    }

    /// <summary>The msgSerial in <c>connectionId:msgSerial:index</c>, or -1 when the id has another shape.</summary>
    public static long SerialFromId(ReadOnlySpan<byte> id)
    {
        var last = id.LastIndexOf((byte)':');
        if (last <= 0)
        {
            return -1;
        }

        var head = id[..last];
        var previous = head.LastIndexOf((byte)':');
        if (previous < 0)
        {
            return -1;
        }

        return Utf8Parser.TryParse(head[(previous + 1)..], out long serial, out var consumed) && consumed == head.Length - previous - 1
            ? serial
            : -1;
    }

    /// <summary>
    /// Reads an ACK's <c>msgSerial</c> and <c>count</c> (1 when absent) without decoding it; false for any other
    /// frame, or one it cannot read, which the caller decodes whole.
    /// </summary>
    public static bool TryScanAck(WireFormat format, ReadOnlyMemory<byte> frame, out long msgSerial, out int count)
    {
        var action = -1;
        msgSerial = -1;
        count = 1;
        try
        {
            if (format == WireFormat.MessagePack)
            {
                var reader = new MessagePackReader(frame);
                var fields = reader.ReadMapHeader();
                for (var i = 0; i < fields; i++)
                {
                    if (!reader.TryReadStringSpan(out var key))
                    {
                        reader.Skip();
                        reader.Skip();
                    }
                    else if (key.SequenceEqual("action"u8))
                    {
                        action = reader.ReadInt32();
                    }
                    else if (key.SequenceEqual("msgSerial"u8))
                    {
                        msgSerial = reader.ReadInt64();
                    }
                    else if (key.SequenceEqual("count"u8))
                    {
                        count = reader.ReadInt32();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                var reader = new Utf8JsonReader(frame.Span);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                {
                    return false;
                }

                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var key = reader.ValueTextEquals("action"u8) ? 1 : reader.ValueTextEquals("msgSerial"u8) ? 2 : reader.ValueTextEquals("count"u8) ? 3 : 0;
                    reader.Read();
                    switch (key)
                    {
                        case 1:
                            action = reader.GetInt32();
                            break;
                        case 2:
                            msgSerial = reader.GetInt64();
                            break;
                        case 3:
                            count = reader.GetInt32();
                            break;
                        default:
                            reader.Skip();
                            break;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or MessagePackSerializationException or FormatException or EndOfStreamException)
        {
            return false;
        }

        return action == (int)ProtocolAction.Ack && msgSerial >= 0 && count > 0;
    }

    private static ProtocolAction ScanFull(WireFormat format, ReadOnlyMemory<byte> frame, List<long> serials, ref long payloadErrors)
    {
        var message = ProtocolCodecs.For(format).Decode(frame);
        if (message.Action == ProtocolAction.Message && message.Messages is { } messages)
        {
            foreach (var item in messages)
            {
                serials.Add(item.Id is { } id ? SerialFromId(System.Text.Encoding.UTF8.GetBytes(id)) : -1);
                if (item.Name != Payload.Name || item.Data.Text != Payload.Data || item.Encoding != Payload.Encoding || item.Extras is null)
                {
                    payloadErrors++;
                }
            }
        }

        return message.Action;
    }

    private static ProtocolAction ScanJson(ReadOnlySpan<byte> frame, List<long> serials)
    {
        var action = (ProtocolAction)(-1);
        var reader = new Utf8JsonReader(frame);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("frame is not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("action"u8))
            {
                reader.Read();
                action = (ProtocolAction)reader.GetInt32();
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                reader.Read();
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    var serial = -1L;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isId = reader.ValueTextEquals("id"u8);
                        reader.Read();
                        if (isId && reader.TokenType == JsonTokenType.String)
                        {
                            serial = reader.ValueIsEscaped
                                ? SerialFromId(System.Text.Encoding.UTF8.GetBytes(reader.GetString()!))
                                : SerialFromId(reader.ValueSpan);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    serials.Add(serial);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return action;
    }

    private static ProtocolAction ScanMessagePack(ReadOnlyMemory<byte> frame, List<long> serials)
    {
        var action = (ProtocolAction)(-1);
        var reader = new MessagePackReader(frame);
        var fields = reader.ReadMapHeader();
        for (var i = 0; i < fields; i++)
        {
            if (!reader.TryReadStringSpan(out var key))
            {
                reader.Skip();
                reader.Skip();
                continue;
            }

            if (key.SequenceEqual("action"u8))
            {
                action = (ProtocolAction)reader.ReadInt32();
            }
            else if (key.SequenceEqual("messages"u8))
            {
                var count = reader.ReadArrayHeader();
                for (var m = 0; m < count; m++)
                {
                    var serial = -1L;
                    var messageFields = reader.ReadMapHeader();
                    for (var f = 0; f < messageFields; f++)
                    {
                        if (reader.TryReadStringSpan(out var name) && name.SequenceEqual("id"u8) && reader.TryReadStringSpan(out var id))
                        {
                            serial = SerialFromId(id);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    serials.Add(serial);
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return action;
    }
}

/// <summary>How subscribers read MESSAGE frames.</summary>
public enum DecodeMode
{
    /// <summary>Scan for the action and message ids only: keeps the load generator's CPU off the server's two cores.</summary>
    Fast,

    /// <summary>Decode every frame with TokenWire.Protocol's codecs and check each payload.</summary>
    Full,
}
