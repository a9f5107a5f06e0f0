using System.Text.Json;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Builds messages to publish in a batch with <see cref="RealtimeChannel.PublishAsync(IReadOnlyList{Message}, CancellationToken)"/>,
/// and annotations to publish with <see cref="RealtimeAnnotations"/> or the REST client.</summary>
public static class Messages
{
    /// <summary>
    /// A message with <paramref name="data"/> as a string, binary (<c>byte[]</c>, <c>ReadOnlyMemory&lt;byte&gt;</c>) or
    /// JSON (a <c>JsonNode</c>, <c>JsonElement</c> or any serializable object, sent with encoding <c>json</c>), and
    /// optional <paramref name="extras"/>, a JSON object such as <c>new { headers = new { responseId = "r1" } }</c>.
    /// </summary>
    public static Message Create(string? name, object? data, object? extras = null, JsonSerializerOptions? serializerOptions = null)
    {
        var options = serializerOptions ?? JsonSerializerOptions.Web;
        var (payload, encoding) = PayloadCodec.EncodeData(data, options);
        return new Message
        {
            Name = name,
            Data = payload,
            Encoding = encoding,
            Extras = PayloadCodec.EncodeExtras(extras, options),
        };
    }

    /// <summary>
    /// An annotation of <paramref name="type"/> (<c>namespace:method.v1</c>, the method one of <c>total</c>,
    /// <c>flag</c>, <c>distinct</c>, <c>unique</c>, <c>multiple</c>), with the <paramref name="name"/> that
    /// distinct, unique and multiple count by, an optional <paramref name="count"/> (multiple) and payload, which
    /// follows the message rules of <see cref="Create"/>.
    /// </summary>
    public static Annotation CreateAnnotation(string type, string? name = null, object? data = null, object? extras = null, int? count = null, JsonSerializerOptions? serializerOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        var message = Create(name, data, extras, serializerOptions);
        return new Annotation
        {
            Type = type,
            Name = name,
            Data = message.Data,
            Encoding = message.Encoding,
            Extras = message.Extras,
            Count = count,
        };
    }
}
