using System.Text.Json;
using System.Text.Json.Nodes;

namespace TokenWire.Server.Push;

/// <summary>JSON helpers the providers' payload mappings share.</summary>
internal static class PushPayloadJson
{
    /// <summary>Lays <paramref name="overrides"/> over <paramref name="target"/>: objects merge member by member, anything else replaces.</summary>
    public static void DeepMerge(JsonObject target, JsonObject overrides)
    {
        foreach (var (name, value) in overrides)
        {
            if (value is JsonObject inner && target[name] is JsonObject existing)
            {
                DeepMerge(existing, inner);
            }
            else
            {
                target[name] = value?.DeepClone();
            }
        }
    }

    public static JsonObject? Object(JsonElement parent, string name) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object
            ? JsonNode.Parse(value.GetRawText()) as JsonObject
            : null;

    public static JsonNode? Value(JsonObject? parent, string name) =>
        parent is not null && parent.TryGetPropertyValue(name, out var value) && value is not null ? value.DeepClone() : null;

    /// <summary>A string member as text; a number or boolean as its JSON text (FCM's data values must be strings).</summary>
    public static string AsString(JsonNode value) =>
        value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
}
