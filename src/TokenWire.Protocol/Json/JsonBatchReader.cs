using System.Buffers;
using System.Text.Json;

namespace TokenWire.Protocol.Json;

/// <summary>Reads batch publish specs from JSON: <c>{channels: [..] | "name", messages: Message | Message[]}</c>.</summary>
internal static class JsonBatchReader
{
    public static BatchPublishSpec ReadSpec(ref Utf8JsonReader reader, ReadOnlySequence<byte> input)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"batch spec: expected an object, got {reader.TokenType}");
        }

        var channels = new List<string>();
        var messages = new List<Message>();
        while (JsonProtocolReader.ReadToken(ref reader) == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("channels"u8))
            {
                if (JsonProtocolReader.ReadToken(ref reader) == JsonTokenType.String)
                {
                    channels.Add(reader.GetString()!);
                    continue;
                }

                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new JsonException("channels: expected an array of names");
                }

                while (JsonProtocolReader.ReadToken(ref reader) != JsonTokenType.EndArray)
                {
                    channels.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new JsonException("channels: expected strings"));
                }
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                if (JsonProtocolReader.ReadToken(ref reader) == JsonTokenType.StartArray)
                {
                    while (JsonProtocolReader.ReadToken(ref reader) != JsonTokenType.EndArray)
                    {
                        messages.Add(JsonProtocolReader.ReadMessage(ref reader, input));
                    }
                }
                else
                {
                    messages.Add(JsonProtocolReader.ReadMessage(ref reader, input));
                }
            }
            else
            {
                JsonProtocolReader.ReadToken(ref reader);
                reader.Skip();
            }
        }

        return new BatchPublishSpec(channels, messages);
    }
}
