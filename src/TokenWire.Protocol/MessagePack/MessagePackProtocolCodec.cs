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

    public void WriteMessage(Message message, InheritedFields inherited, IBufferWriter<byte> output)
    {
        var writer = new MessagePackWriter(output);
        MessagePackProtocolWriter.WriteMessage(ref writer, message, inherited);
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

    public IReadOnlyList<Annotation> ReadAnnotations(ReadOnlySequence<byte> input) =>
        ReadBody(input, MessagePackProtocolReader.ReadAnnotation);

    public ProtocolMessage Read(ReadOnlySequence<byte> input) => Read(input, null);

    public ProtocolMessage Read(ReadOnlySequence<byte> input, RecentStrings? strings)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var message = MessagePackProtocolReader.ReadProtocolMessage(ref reader, _serverFields, strings);
            ExpectEnd(ref reader);
            return message;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Malformed MessagePack frame: " + ex.Message, ex);
        }
    }

    public IReadOnlyList<Message> ReadMessages(ReadOnlySequence<byte> input) =>
        _serverFields ? ReadBody(input, ReadMessageWithServerFields) : ReadBody(input, ReadMessage);

    public IReadOnlyList<BatchPublishSpec> ReadBatchPublish(ReadOnlySequence<byte> input) =>
        ReadBody(input, MessagePackBatchReader.ReadSpec);

    /// <summary>A REST body of one item or an array of them (the REST endpoints accept both); malformed is 40001.</summary>
    private static List<T> ReadBody<T>(ReadOnlySequence<byte> input, ItemReader<T> read)
    {
        try
        {
            var reader = new MessagePackReader(input);
            var items = new List<T>();
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                for (var n = reader.ReadArrayHeader(); n > 0; n--)
                {
                    items.Add(read(ref reader));
                }
            }
            else
            {
                items.Add(read(ref reader));
            }

            ExpectEnd(ref reader);
            return items;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or InvalidOperationException
                                       or OverflowException or ArgumentException)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Malformed MessagePack body: " + ex.Message, ex);
        }
    }

    private delegate T ItemReader<T>(ref MessagePackReader reader);

    private static Message ReadMessage(ref MessagePackReader reader) => MessagePackProtocolReader.ReadMessage(ref reader);

    private static Message ReadMessageWithServerFields(ref MessagePackReader reader) => MessagePackProtocolReader.ReadMessage(ref reader, serverFields: true);

    private static void ExpectEnd(ref MessagePackReader reader)
    {
        if (!reader.End)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, "Trailing data after the MessagePack value");
        }
    }
}
