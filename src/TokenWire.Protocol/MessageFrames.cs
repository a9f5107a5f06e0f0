using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol.Json;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol;

/// <summary>
/// Composes a MESSAGE ProtocolMessage (<c>action</c>, <c>channel</c>, <c>channelSerial</c>, <c>messages</c>; reference
/// §2.1) from messages already encoded with <see cref="IProtocolCodec.WriteMessage(Message, IBufferWriter{byte})"/> (a frame bundling several
/// messages costs a header and a copy of each message's bytes, never a second serialisation), or straight from the
/// messages when they are encoded for this one frame. The bytes are exactly what <see cref="IProtocolCodec.Write"/>
/// produces for the same ProtocolMessage.
/// </summary>
public static class MessageFrames
{
    private static readonly JsonEncodedText Action = JsonEncodedText.Encode("action");
    private static readonly JsonEncodedText Channel = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText ChannelSerial = JsonEncodedText.Encode("channelSerial");
    private static readonly JsonEncodedText Messages = JsonEncodedText.Encode("messages");
    private static readonly JsonEncodedText ConnectionId = JsonEncodedText.Encode("connectionId");
    private static readonly JsonEncodedText Timestamp = JsonEncodedText.Encode("timestamp");

    [ThreadStatic]
    private static Utf8JsonWriter? t_jsonWriter;

    /// <summary>
    /// A frame of messages encoded beforehand (<see cref="IProtocolCodec.WriteMessage(Message, IBufferWriter{byte})"/>), copied in as they are. A
    /// <paramref name="connectionId"/> or <paramref name="timestamp"/> given here is the ProtocolMessage's own: the
    /// SDKs give it to every message that has none (TM2c, TM2f), so messages encoded without them take less room.
    /// </summary>
    public static void Write(WireFormat format, string channel, string channelSerial, ReadOnlySpan<ReadOnlyMemory<byte>> encodedMessages, IBufferWriter<byte> output, string? connectionId = null, long? timestamp = null)
    {
        if (format == WireFormat.MessagePack)
        {
            var writer = new MessagePackWriter(output);
            WriteMessagePackHeader(ref writer, channel, channelSerial, encodedMessages.Length, connectionId, timestamp);
            foreach (var message in encodedMessages)
            {
                writer.WriteRaw(message.Span);
            }

            writer.Flush();
        }
        else
        {
            var writer = StartJson(output, channel, channelSerial, connectionId, timestamp);
            foreach (var message in encodedMessages)
            {
                writer.WriteRawValue(message.Span, skipInputValidation: true);
            }

            EndJson(writer);
        }
    }

    /// <summary>A frame of messages encoded into it directly.</summary>
    public static void Write(WireFormat format, string channel, string channelSerial, ReadOnlySpan<Message> messages, IBufferWriter<byte> output) =>
        Write(format, channel, channelSerial, messages, static m => m, output);

    /// <summary>A frame of the messages <paramref name="messageOf"/> picks from <paramref name="items"/>, encoded into it directly.</summary>
    public static void Write<TItem>(WireFormat format, string channel, string channelSerial, ReadOnlySpan<TItem> items, Func<TItem, Message> messageOf, IBufferWriter<byte> output)
    {
        if (format == WireFormat.MessagePack)
        {
            var writer = new MessagePackWriter(output);
            WriteMessagePackHeader(ref writer, channel, channelSerial, items.Length);
            foreach (var item in items)
            {
                MessagePack.MessagePackProtocolWriter.WriteMessage(ref writer, messageOf(item));
            }

            writer.Flush();
        }
        else
        {
            var writer = StartJson(output, channel, channelSerial);
            foreach (var item in items)
            {
                JsonProtocolWriter.WriteMessage(writer, messageOf(item));
            }

            EndJson(writer);
        }
    }

    private static Utf8JsonWriter StartJson(IBufferWriter<byte> output, string channel, string channelSerial, string? connectionId = null, long? timestamp = null)
    {
        // One writer per thread, reset onto each output: a frame allocates nothing but its bytes.
        var writer = t_jsonWriter ??= new Utf8JsonWriter(DetachedOutput.Instance, JsonProtocolCodec.WriterOptions);
        writer.Reset(output);
        writer.WriteStartObject();
        writer.WriteNumber(Action, (int)ProtocolAction.Message);
        writer.WriteString(Channel, channel);
        writer.WriteString(ChannelSerial, channelSerial);
        if (connectionId is not null)
        {
            writer.WriteString(ConnectionId, connectionId);
        }

        if (timestamp is { } ms)
        {
            writer.WriteNumber(Timestamp, ms);
        }

        writer.WriteStartArray(Messages);
        return writer;
    }

    private static void EndJson(Utf8JsonWriter writer)
    {
        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        writer.Reset(DetachedOutput.Instance);
    }

    private static void WriteMessagePackHeader(ref MessagePackWriter writer, string channel, string channelSerial, int count, string? connectionId = null, long? timestamp = null)
    {
        writer.WriteMapHeader(4 + (connectionId is null ? 0 : 1) + (timestamp is null ? 0 : 1));
        writer.Write("action");
        writer.Write((int)ProtocolAction.Message);
        writer.Write("channel");
        writer.Write(channel);
        writer.Write("channelSerial");
        writer.Write(channelSerial);
        if (connectionId is not null)
        {
            writer.Write("connectionId");
            writer.Write(connectionId);
        }

        if (timestamp is { } ms)
        {
            writer.Write("timestamp");
            writer.Write(ms);
        }

        writer.Write("messages");
        writer.WriteArrayHeader(count);
    }
}
