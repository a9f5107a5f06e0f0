using System.Buffers;

namespace TokenWire.Protocol;

/// <summary>
/// Encodes and decodes ProtocolMessages and REST message bodies in one wire format. Codecs are stateless and
/// thread-safe. Decoders skip unknown fields (RSF1) and turn any malformed input into a <see cref="ProtocolException"/>.
/// </summary>
public interface IProtocolCodec
{
    WireFormat Format { get; }

    void Write(ProtocolMessage message, IBufferWriter<byte> output);

    ProtocolMessage Read(ReadOnlySequence<byte> input);

    /// <summary><see cref="Read(ReadOnlySequence{byte})"/>, reusing the connection's recent strings (<see cref="RecentStrings"/>).</summary>
    ProtocolMessage Read(ReadOnlySequence<byte> input, RecentStrings? strings) => Read(input);

    /// <summary>One message object on its own: the piece a MESSAGE frame is composed from (<see cref="MessageFrames"/>).</summary>
    void WriteMessage(Message message, IBufferWriter<byte> output);

    /// <summary><see cref="WriteMessage(Message, IBufferWriter{byte})"/> without the fields its frame carries for it.</summary>
    void WriteMessage(Message message, InheritedFields inherited, IBufferWriter<byte> output);

    /// <summary>REST body: an array of messages (history pages, publish bodies).</summary>
    void WriteMessages(IReadOnlyList<Message> messages, IBufferWriter<byte> output);

    /// <summary>REST body: an array of presence messages (presence get and presence history pages).</summary>
    void WritePresenceMessages(IReadOnlyList<PresenceMessage> messages, IBufferWriter<byte> output);

    /// <summary>REST body: an array of annotations (<c>annotations.get</c> pages).</summary>
    void WriteAnnotations(IReadOnlyList<Annotation> annotations, IBufferWriter<byte> output);

    /// <summary>REST annotation publish body: one annotation object or an array of them.</summary>
    IReadOnlyList<Annotation> ReadAnnotations(ReadOnlySequence<byte> input);

    /// <summary>REST publish body: one message object or an array of them.</summary>
    IReadOnlyList<Message> ReadMessages(ReadOnlySequence<byte> input);

    /// <summary>REST batch publish body (<c>POST /messages</c>): one spec or an array of them.</summary>
    IReadOnlyList<BatchPublishSpec> ReadBatchPublish(ReadOnlySequence<byte> input);
}
