using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackType = global::MessagePack.MessagePackType;

namespace TokenWire.Protocol.MessagePack;

/// <summary>Reads batch publish specs from MessagePack: <c>{channels: [..] | "name", messages: Message | Message[]}</c>.</summary>
internal static class MessagePackBatchReader
{
    public static BatchPublishSpec ReadSpec(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "batch spec: expected a map");
        }

        var count = reader.ReadMapHeader();
        var channels = new List<string>();
        var messages = new List<Message>();
        for (var i = 0; i < count; i++)
        {
            var key = reader.NextMessagePackType == MessagePackType.String ? reader.ReadString() : null;
            switch (key)
            {
                case "channels" when reader.NextMessagePackType == MessagePackType.String:
                    channels.Add(reader.ReadString()!);
                    break;
                case "channels" when reader.NextMessagePackType == MessagePackType.Array:
                    for (var n = reader.ReadArrayHeader(); n > 0; n--)
                    {
                        channels.Add(reader.NextMessagePackType == MessagePackType.String
                            ? reader.ReadString()!
                            : throw new ProtocolException(ErrorCodes.InvalidRequestBody, "channels: expected strings"));
                    }

                    break;
                case "messages" when reader.NextMessagePackType == MessagePackType.Array:
                    for (var n = reader.ReadArrayHeader(); n > 0; n--)
                    {
                        messages.Add(MessagePackProtocolReader.ReadMessage(ref reader));
                    }

                    break;
                case "messages":
                    messages.Add(MessagePackProtocolReader.ReadMessage(ref reader));
                    break;
                case "channels":
                    throw new ProtocolException(ErrorCodes.InvalidRequestBody, "channels: expected an array of names");
                default:
                    PayloadTranscoder.Skip(ref reader);
                    break;
            }
        }

        return new BatchPublishSpec(channels, messages);
    }
}
