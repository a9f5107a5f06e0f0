using System.Text;
using System.Text.Json;

namespace TokenWire.Protocol;

/// <summary>
/// A free-form JSON value carried through unchanged (message <c>extras</c>, <c>version</c>), held as UTF-8 JSON.
/// MessagePack frames are transcoded to and from this form, so the server never interprets what it relays.
/// </summary>
public sealed class JsonPayload
{
    public JsonPayload(ReadOnlyMemory<byte> utf8Json) => Utf8Json = utf8Json;

    public ReadOnlyMemory<byte> Utf8Json { get; }

    public static JsonPayload Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return new JsonPayload(Encoding.UTF8.GetBytes(json));
    }

    public JsonElement ToElement()
    {
        using var doc = JsonDocument.Parse(Utf8Json);
        return doc.RootElement.Clone();
    }

    public override string ToString() => Encoding.UTF8.GetString(Utf8Json.Span);
}
