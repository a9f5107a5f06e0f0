using System.Buffers;
using MessagePackReader = global::MessagePack.MessagePackReader;
using MessagePackSerializationException = global::MessagePack.MessagePackSerializationException;
using MessagePackType = global::MessagePack.MessagePackType;
using MessagePackWriter = global::MessagePack.MessagePackWriter;

namespace TokenWire.Protocol.MessagePack;

/// <summary>
/// The MessagePack wire format (reference §1.2, §3.4): a string-keyed map per object with empty fields omitted,
/// binary data as <c>bin</c>, any integer width accepted on read. Hand-written over MessagePackWriter/Reader.
/// </summary>
public sealed class MessagePackProtocolCodec : IProtocolCodec
{
    private readonly bool _serverFields;

    public MessagePackProtocolCodec()
        : this(serverFields: false)
    {
    }

    /// <param name="serverFields">Read the fields only a server sends (a client's codec; see <see cref="ProtocolCodecs.MessagePackFromServer"/>).</param>
    internal MessagePackProtocolCodec(bool serverFields) => _serverFields = serverFields;

    public WireFormat Format => WireFormat.MessagePack;

    public void Write(ProtocolMessage message, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        MessagePackProtocolWriter.WriteProtocolMessage(ref writer, message);
        writer.Flush();
    }

    public void WriteMessage(Message message, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        MessagePackProtocolWriter.WriteMessage(ref writer, message);
        writer.Flush();
    }

    public void WriteMessages(IReadOnlyList<Message> messages, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(messages.Count);
        foreach (var message in messages)
        {
            MessagePackProtocolWriter.WriteMessage(ref writer, message);
        }

        writer.Flush();
    }

    public void WritePresenceMessages(IReadOnlyList<PresenceMessage> messages, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(messages.Count);
        foreach (var message in messages)
        {
            MessagePackProtocolWriter.WriteMessage(ref writer, message.ToMessage());
        }

        writer.Flush();
    }

    public void WriteAnnotations(IReadOnlyList<Annotation> annotations, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(annotations.Count);
        foreach (var annotation in annotations)
        {
            MessagePackProtocolWriter.WriteAnnotation(ref writer, annotation);
        }

        writer.Flush();
    }

    public IReadOnlyList<Annotation> ReadAnnotations(ReadOnlySequence<byte> input)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var annotations = new List<Annotation>();
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                var count = reader.ReadArrayHeader();
                for (var i = 0; i < count; i++)
                {
                    annotations.Add(MessagePackProtocolReader.ReadAnnotation(ref reader));
                }
            }
            else
            {
                annotations.Add(MessagePackProtocolReader.ReadAnnotation(ref reader));
            }

            ExpectEnd(ref reader);
            return annotations;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Malformed MessagePack body: " + ex.Message, ex);
        }
    }

    public ProtocolMessage Read(ReadOnlySequence<byte> input)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var message = MessagePackProtocolReader.ReadProtocolMessage(ref reader, _serverFields);
            ExpectEnd(ref reader);
            return message;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Malformed MessagePack frame: " + ex.Message, ex);
        }
    }

    public IReadOnlyList<Message> ReadMessages(ReadOnlySequence<byte> input)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var messages = new List<Message>();
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                var count = reader.ReadArrayHeader();
                for (var i = 0; i < count; i++)
                {
                    messages.Add(MessagePackProtocolReader.ReadMessage(ref reader, _serverFields));
                }
            }
            else
            {
                messages.Add(MessagePackProtocolReader.ReadMessage(ref reader, _serverFields));
            }

            ExpectEnd(ref reader);
            return messages;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Malformed MessagePack body: " + ex.Message, ex);
        }
    }

    public IReadOnlyList<BatchPublishSpec> ReadBatchPublish(ReadOnlySequence<byte> input)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var specs = new List<BatchPublishSpec>();
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                for (var n = reader.ReadArrayHeader(); n > 0; n--)
                {
                    specs.Add(MessagePackBatchReader.ReadSpec(ref reader));
                }
            }
            else
            {
                specs.Add(MessagePackBatchReader.ReadSpec(ref reader));
            }

            ExpectEnd(ref reader);
            return specs;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Malformed MessagePack body: " + ex.Message, ex);
        }
    }

    private static void ExpectEnd(ref MessagePackReader reader)
    {
        if (!reader.End)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Trailing data after the MessagePack value");
        }
    }
}
