using System.Text.Json;
using System.Text.Json.Serialization;

namespace TokenWire.Agent;

/// <summary>A prompt request as it travels on the requests channel (message <c>prompt</c>, JSON data).</summary>
public sealed record AgentPrompt(
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("prompt")] string Prompt,
    [property: JsonPropertyName("responseId")] string ResponseId,
    [property: JsonPropertyName("clientId")] string? ClientId);

[JsonSerializable(typeof(AgentPrompt))]
[JsonSerializable(typeof(JsonElement))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
public sealed partial class AgentJsonContext : JsonSerializerContext;
