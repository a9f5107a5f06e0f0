using System.Buffers;
using MessagePack;
namespace TokenWire.Protocol.MessagePack;

/// <summary>
/// The form in which both engines retain a message: the Ably msgpack map the protocol codec writes, without
/// <c>serial</c> and <c>timestamp</c>, which come back from the entry's offset and log time. One byte array per
/// message instead of an object graph, so a long retained history costs the GC one object per message, and a node
/// decodes exactly what another engine's read would return.
/// </summary>
public static class StoredMessageCodec
{
    private const int ScratchBytes = 1024;

    /// <summary>A scratch buffer that grew past this for one large message is dropped, not kept per thread.</summary>
    private const int MaxRetainedScratchBytes = 64 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_scratch;

    /// <param name="withPosition">
    /// True to keep <c>serial</c> and <c>timestamp</c>: a version of a mutable message carries its original's, which
    /// its own entry cannot give back.
    /// </param>
    public static byte[] Encode(Message message, bool withPosition = false)
    {
        var scratch = t_scratch ?? new ArrayBufferWriter<byte>(ScratchBytes);
        t_scratch = null;
        Encode(message, scratch, withPosition);
        var stored = scratch.WrittenSpan.ToArray();
        scratch.ResetWrittenCount();
        if (scratch.Capacity <= MaxRetainedScratchBytes)
        {
            t_scratch = scratch;
        }

        return stored;
    }

    /// <summary>Writes the stored form to <paramref name="output"/> (a caller that packs many messages into one buffer).</summary>
    /// <inheritdoc cref="Encode(Message, bool)" path="/param"/>
    public static void Encode(Message message, IBufferWriter<byte> output, bool withPosition = false)
    {
        var writer = new MessagePackWriter(output);
        MessagePackProtocolWriter.WriteMessage(ref writer, message, withPosition);
        writer.Flush();
    }

    /// <summary>The stored message; without its serial and timestamp unless it was stored with them.</summary>
    public static Message Decode(ReadOnlySequence<byte> stored)
    {
        var reader = new MessagePackReader(stored);
        return MessagePackProtocolReader.ReadMessage(ref reader);
    }
}
