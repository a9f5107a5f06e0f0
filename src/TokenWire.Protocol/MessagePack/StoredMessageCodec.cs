using System.Buffers;
using System.Buffers.Binary;
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

    /// <summary>
    /// The stored message's id as UTF-8, read without decoding the rest (the writer puts <c>id</c> first); empty when
    /// it has none. What an engine compares and hashes to recognise a republished id.
    /// </summary>
    public static ReadOnlySpan<byte> IdOf(ReadOnlySpan<byte> stored)
    {
        // fixmap / map16 / map32 header, then the "id" key as a fixstr and its value's string header.
        var at = stored.IsEmpty ? -1 : stored[0] switch
        {
            > 0x80 and <= 0x8f => 1,
            0xde => 3,
            0xdf => 5,
            _ => -1,
        };
        if (at < 0 || stored[at..] is not [0xa2, (byte)'i', (byte)'d', _, ..])
        {
            return [];
        }

        at += 3;
        var (header, length) = stored[at] switch
        {
            >= 0xa0 and <= 0xbf and var fix => (1, fix - 0xa0),
            0xd9 => (2, (int)stored[at + 1]),
            0xda => (3, (int)BinaryPrimitives.ReadUInt16BigEndian(stored[(at + 1)..])),
            0xdb => (5, (int)BinaryPrimitives.ReadUInt32BigEndian(stored[(at + 1)..])),
            _ => (0, -1),
        };
        return length < 0 ? [] : stored.Slice(at + header, length);
    }
}
