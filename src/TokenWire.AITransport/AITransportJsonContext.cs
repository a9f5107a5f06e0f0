using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace TokenWire.AITransport;

[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class AITransportJsonContext : JsonSerializerContext;
