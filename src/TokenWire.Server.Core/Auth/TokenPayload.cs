using System.Text.Json;
using System.Text.Json.Serialization;

namespace TokenWire.Server.Auth;

/// <summary>The signed body of a TokenWire token: issuing key, times (Unix ms), capability JSON and clientId.</summary>
public sealed record TokenPayload(
    [property: JsonPropertyName("k")] string KeyName,
    [property: JsonPropertyName("i")] long Issued,
    [property: JsonPropertyName("x")] long Expires,
    [property: JsonPropertyName("c")] string Capability,
    [property: JsonPropertyName("u")] string? ClientId);

[JsonSerializable(typeof(TokenPayload))]
[JsonSerializable(typeof(JsonElement))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class TokenJsonContext : JsonSerializerContext;
