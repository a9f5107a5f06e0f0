using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol.Json;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol;

/// <summary>
/// Composes a MESSAGE ProtocolMessage (<c>action</c>, <c>channel</c>, <c>channelSerial</c>, <c>messages</c>; reference
/// §2.1) from messages already encoded with <see cref="IProtocolCodec.WriteMessage"/>: a frame bundling several
/// messages costs a header and a copy of each message's bytes, never a second serialisation. The bytes are exactly
/// what <see cref="IProtocolCodec.Write"/> produces for the same ProtocolMessage.
/// </summary>
public static class MessageFrames
{
    private static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText ChannelSerial = JsonEncodedText.Encode("channelSerial");
    private static readonly JsonEncodedText Messages = JsonEncodedText.Encode("messages");

    [ThreadStatic]
    private static Utf8JsonWriter? t_jsonWriter;

    public static void Write(WireFormat format, string channel, string channelSerial, ReadOnlySpan<ReadOnlyMemory<byte>> encodedMessages, IBufferWriter<byte> output)
    {
        if (format == WireFormat.MessagePack)
        {
            WriteMessagePack(channel, channelSerial, encodedMessages, output);
        }
        else
        {
            WriteJson(channel, channelSerial, encodedMessages, output);
        }
    }

    private static void WriteJson(string channel, string channelSerial, ReadOnlySpan<ReadOnlyMemory<byte>> encodedMessages, IBufferWriter<byte> output)
    {
        // One writer per thread, reset onto each output: a frame allocates nothing but its bytes.
        var writer = t_jsonWriter ??= new Utf8JsonWriter(Stream.Null, JsonProtocolCodec.WriterOptions);
        writer.Reset(output);
        writer.WriteStartObject();
        writer.WriteNumber(Action, (int)ProtocolAction.Message);
        writer.WriteString(Channel, channel);
        writer.WriteString(ChannelSerial, channelSerial);
        writer.WriteStartArray(Messages);
        foreach (var message in encodedMessages)
        {
            writer.WriteRawValue(message.Span, skipInputValidation: true);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        writer.Reset(Stream.Null);
    }

    private static void WriteMessagePack(string channel, string channelSerial, ReadOnlySpan<ReadOnlyMemory<byte>> encodedMessages, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteMapHeader(4);
        writer.Write("action");
        writer.Write((int)ProtocolAction.Message);
        writer.Write("channel");
        writer.Write(channel);
        writer.Write("channelSerial");
        writer.Write(channelSerial);
        writer.Write("messages");
        writer.WriteArrayHeader(encodedMessages.Length);
        foreach (var message in encodedMessages)
        {
            writer.WriteRaw(message.Span);
        }

        writer.Flush();
    }
}
