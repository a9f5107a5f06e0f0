using System.Text.Json;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Builds messages to publish in a batch with <see cref="RealtimeChannel.PublishAsync(IReadOnlyList{Message}, CancellationToken)"/>.</summary>
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
}
