using System.Buffers;
using System.Text.Json;
using MessagePack;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>Comet bodies: arrays of ProtocolMessages, in JSON or MessagePack, each element read by the format's codec.</summary>
internal static class CometFrames
{
    /// <summary>The messages of a comet send body; malformed input is a <see cref="ProtocolException"/> (40000).</summary>
    public static List<ProtocolMessage> ReadArray(WireFormat format, ReadOnlySequence<byte> body)
    {
        var codec = ProtocolCodecs.For(format);
        var messages = new List<ProtocolMessage>();
        try
        {
            if (format == WireFormat.Json)
            {
                var reader = new Utf8JsonReader(body);
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new ProtocolException(ErrorCodes.BadRequest, "Malformed comet body: expected an array of protocol messages");
                }

                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    var start = reader.TokenStartIndex;
                    reader.Skip();
                    messages.Add(codec.Read(body.Slice(start, reader.BytesConsumed - start)));
                }
            }
            else
            {
                var reader = new MessagePackReader(body);
                var count = reader.ReadArrayHeader();
                for (var i = 0; i < count; i++)
                {
                    var start = reader.Position;
                    reader.Skip();
                    messages.Add(codec.Read(body.Slice(start, reader.Position)));
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or MessagePackSerializationException or EndOfStreamException or InvalidOperationException)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Malformed comet body: " + ex.Message, ex);
        }

        return messages;
    }

    /// <summary>One ProtocolMessage as a comet array body.</summary>
    public static byte[] Single(WireFormat format, ProtocolMessage message)
    {
        var element = ProtocolCodecs.For(format).Encode(message);
        var result = new byte[element.Length + (format == WireFormat.Json ? 2 : 1)];
        if (format == WireFormat.Json)
        {
            result[0] = (byte)'[';
            result[^1] = (byte)']';
            element.CopyTo(result.AsSpan(1));
        }
        else
        {
            result[0] = 0x91;
            element.CopyTo(result.AsSpan(1));
        }

        return result;
    }

    public static string ContentType(WireFormat format) => format == WireFormat.MessagePack ? "application/x-msgpack" : "application/json";
}
