using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary>
/// <c>distinct.v1</c> and <c>unique.v1</c>: per name, the clients that used it (<c>{ name: { total, clientIds, clipped } }</c>).
/// Distinct lets a client use several names of the type; unique moves a client to the name it used last. A delete
/// takes the client off the name; a name nobody uses any more disappears.
/// </summary>
public sealed class NamedClientsSummary(bool uniquePerClient) : TypeSummary
{
    private readonly OrderedDictionary<string, List<string>> _names = new(StringComparer.Ordinal);

    public override void Apply(Annotation annotation)
    {
        var (name, clientId) = (annotation.Name!, annotation.ClientId!);
        if (IsDelete(annotation))
        {
            Remove(name, clientId);
            return;
        }

        if (uniquePerClient)
        {
            foreach (var other in _names.Keys.Where(n => n != name).ToList())
            {
                Remove(other, clientId);
            }
        }

        if (!_names.TryGetValue(name, out var clientIds))
        {
            _names[name] = clientIds = [];
        }

        if (!clientIds.Contains(clientId))
        {
            clientIds.Add(clientId);
        }
    }

    public override void Render(Utf8JsonWriter writer, int maxClientIds)
    {
        writer.WriteStartObject();
        foreach (var (name, clientIds) in _names)
        {
            writer.WritePropertyName(name);
            WriteClientIdList(writer, clientIds, maxClientIds);
        }

        writer.WriteEndObject();
    }

    public override JsonNode Save()
    {
        var saved = new JsonObject();
        foreach (var (name, clientIds) in _names)
        {
            saved[name] = SaveList(clientIds);
        }

        return saved;
    }

    protected override void Restore(JsonNode saved)
    {
        foreach (var (name, clientIds) in saved.AsObject())
        {
            _names[name] = LoadList(clientIds);
        }
    }

    private void Remove(string name, string clientId)
    {
        if (_names.TryGetValue(name, out var clientIds) && clientIds.Remove(clientId) && clientIds.Count == 0)
        {
            _names.Remove(name);
        }
    }
}
