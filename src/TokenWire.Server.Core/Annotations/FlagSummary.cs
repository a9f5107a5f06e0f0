using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary><c>flag.v1</c>: the clients that flagged the message, once each, in the order they first did.</summary>
public sealed class FlagSummary : TypeSummary
{
    private List<string> _clientIds = [];

    public override void Apply(Annotation annotation)
    {
        var clientId = annotation.ClientId!;
        if (IsDelete(annotation))
        {
            _clientIds.Remove(clientId);
        }
        else if (!_clientIds.Contains(clientId))
        {
            _clientIds.Add(clientId);
        }
    }

    public override void Render(Utf8JsonWriter writer, int maxClientIds) => WriteClientIdList(writer, _clientIds, maxClientIds);

    public override JsonNode Save() => new JsonObject { ["clientIds"] = SaveList(_clientIds) };

    protected override void Restore(JsonNode saved) => _clientIds = LoadList(saved["clientIds"]);
}
