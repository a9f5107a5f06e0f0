using System.Text;
using System.Text.Json;
using TokenWire.Protocol.MessagePack;
using MessagePackReader = global::MessagePack.MessagePackReader;

namespace TokenWire.Protocol;

/// <summary>
/// A free-form JSON value carried through unchanged (message <c>extras</c>, <c>version</c>), given as UTF-8 JSON.
/// MessagePack frames are transcoded to and from this form, so the server never interprets what it relays; a client
/// holds a value it read from MessagePack as it came until <see cref="Utf8Json"/> is first asked for.
/// </summary>
public sealed class JsonPayload
{
    private readonly ReadOnlyMemory<byte> _utf8Json;
    private readonly byte[]? _messagePack;
    private byte[]? _transcoded;

    public JsonPayload(ReadOnlyMemory<byte> utf8Json) => _utf8Json = utf8Json;

    // Not a byte[] overload of the public constructor: a byte[] given as JSON must never bind to this one.
    private JsonPayload(ReadOnlyMemory<byte> utf8Json, byte[]? messagePack)
    {
        _utf8Json = utf8Json;
        _messagePack = messagePack;
    }

    /// <summary>
    /// The value as UTF-8 JSON. A value a client read from MessagePack is transcoded on the first call (most received
    /// messages' extras and version are never looked at, so their decode does not pay for it).
    /// </summary>
    public ReadOnlyMemory<byte> Utf8Json => _messagePack is null ? _utf8Json : Volatile.Read(ref _transcoded) ?? Transcode(_messagePack);

    /// <summary>The value as it was read from MessagePack, or null when it is held as JSON.</summary>
    internal ReadOnlyMemory<byte>? MessagePack => _messagePack is null ? default(ReadOnlyMemory<byte>?) : new ReadOnlyMemory<byte>(_messagePack);

    public static JsonPayload Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return new JsonPayload(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>
    /// A value kept as the MessagePack it came in, read by <see cref="PayloadTranscoder.ReadForJson"/>,
    /// so the transcoding deferred to <see cref="Utf8Json"/> cannot fail.
    /// </summary>
    internal static JsonPayload FromMessagePack(byte[] messagePack) => new(default, messagePack);

    /// <summary>The bytes this value holds in memory, in whichever forms it has (JSON, MessagePack, or both once
    /// transcoded), without transcoding it.</summary>
    public int HeldBytes => _utf8Json.Length + (_messagePack?.Length ?? 0) + (Volatile.Read(ref _transcoded)?.Length ?? 0);

    public JsonElement ToElement()
    {
        using var doc = JsonDocument.Parse(Utf8Json);
        return doc.RootElement.Clone();
    }

    public override string ToString() => Encoding.UTF8.GetString(Utf8Json.Span);

    private byte[] Transcode(byte[] messagePack)
    {
        // Two readers racing both transcode the same bytes; the first result is kept for both.
        var reader = new MessagePackReader(messagePack);
        var json = PayloadTranscoder.MessagePackToJson(ref reader);
        return Interlocked.CompareExchange(ref _transcoded, json, null) ?? json;
    }
}
