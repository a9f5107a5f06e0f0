using System.Buffers;
using TokenWire.Protocol.Json;
using TokenWire.Protocol.MessagePack;

namespace TokenWire.Protocol;

/// <summary>The codec singletons and helpers to encode to a fresh array.</summary>
public static class ProtocolCodecs
{
    public static readonly IProtocolCodec Json = new JsonProtocolCodec();
    public static readonly IProtocolCodec MessagePack = new MessagePackProtocolCodec();

    /// <summary>
    /// A client's codecs: they also read what only a server sends (a message's <c>annotations</c> summary), which a
    /// server must never take from a client, so the server's codecs above skip it.
    /// </summary>
    public static readonly IProtocolCodec JsonFromServer = new JsonProtocolCodec(serverFields: true);

    public static readonly IProtocolCodec MessagePackFromServer = new MessagePackProtocolCodec(serverFields: true);

    public static IProtocolCodec For(WireFormat format) => format == WireFormat.MessagePack ? MessagePack : Json;

    public static byte[] Encode(this IProtocolCodec codec, ProtocolMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        codec.Write(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static ProtocolMessage Decode(this IProtocolCodec codec, ReadOnlyMemory<byte> input) =>
        codec.Read(new ReadOnlySequence<byte>(input));

    /// <inheritdoc cref="IProtocolCodec.Read(ReadOnlySequence{byte}, RecentStrings)"/>
    public static ProtocolMessage Decode(this IProtocolCodec codec, ReadOnlyMemory<byte> input, RecentStrings? strings) =>
        codec.Read(new ReadOnlySequence<byte>(input), strings);

    public static byte[] EncodeMessages(this IProtocolCodec codec, IReadOnlyList<Message> messages)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        codec.WriteMessages(messages, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Appends a step to an encoding chain (<c>json</c> + <c>base64</c> → <c>json/base64</c>).</summary>
    public static string AppendEncoding(string? encoding, string step) =>
        string.IsNullOrEmpty(encoding) ? step : encoding + "/" + step;

    /// <summary>Removes a trailing <c>base64</c> step; returns false when there is none.</summary>
    public static bool TryStripBase64(string? encoding, out string? rest)
    {
        rest = encoding;
        if (encoding is null)
        {
            return false;
        }

        if (encoding == "base64")
        {
            rest = null;
            return true;
        }

        if (encoding.EndsWith("/base64", StringComparison.Ordinal))
        {
            rest = encoding[..^"/base64".Length];
            return true;
        }

        return false;
    }
}
