using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Conversation;

/// <summary>
/// One channel message with its appends folded in: the latest version of its data and extras, and the headers under
/// <c>extras.ai.transport</c> and <c>extras.ai.codec</c> as strings.
/// </summary>
public sealed class WireMessage
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    public required string Serial { get; init; }

    public string? Name { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The version whose data this holds; newer versions replace (update) or extend (append) it.</summary>
    public string VersionSerial { get; set; } = string.Empty;

    /// <summary>Text data (appends concatenate onto it), or null when the data is JSON.</summary>
    public string? Text { get; set; }

    /// <summary>JSON data (the SDK publishes objects such as tool inputs as JSON).</summary>
    public JsonNode? Json { get; set; }

    public IReadOnlyDictionary<string, string> Transport { get; set; } = Empty;

    public IReadOnlyDictionary<string, string> Codec { get; set; } = Empty;

    public string? Header(string name) => Transport.TryGetValue(name, out var value) ? value : null;

    public string? CodecField(string name) => Codec.TryGetValue(name, out var value) ? value : null;

    /// <summary>The data as JSON whatever it was published as (text is parsed when it is JSON, else a string).</summary>
    public JsonNode? DataAsJson()
    {
        if (Json is not null || Text is null)
        {
            return Json?.DeepClone();
        }

        try
        {
            return JsonNode.Parse(Text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(Text);
        }
    }

    internal static (IReadOnlyDictionary<string, string> Transport, IReadOnlyDictionary<string, string> Codec) ReadHeaders(Message message)
    {
        if (message.GetExtras() is not { ValueKind: JsonValueKind.Object } extras
            || !extras.TryGetProperty("ai", out var ai) || ai.ValueKind != JsonValueKind.Object)
        {
            return (Empty, Empty);
        }

        return (Strings(ai, "transport"), Strings(ai, "codec"));
    }

    private static IReadOnlyDictionary<string, string> Strings(JsonElement ai, string name)
    {
        if (!ai.TryGetProperty(name, out var map) || map.ValueKind != JsonValueKind.Object)
        {
            return Empty;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in map.EnumerateObject())
        {
            result[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
        }

        return result;
    }
}
