using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary>
/// <c>multiple.v1</c>: per name, each client's summed <c>count</c> (1 when absent) and the sum from unidentified
/// clients: <c>{ name: { total, clientIds: { id: n }, totalUnidentified, clipped, totalClientIds } }</c>. A delete
/// removes everything that client gave the name; unidentified contributions cannot be deleted (nobody owns them).
/// </summary>
public sealed class MultipleSummary : TypeSummary
{
    private readonly OrderedDictionary<string, NameCounts> _names = new(StringComparer.Ordinal);

    public override void Apply(Annotation annotation)
    {
        var name = annotation.Name!;
        var clientId = string.IsNullOrEmpty(annotation.ClientId) ? null : annotation.ClientId;
        if (IsDelete(annotation))
        {
            if (clientId is not null && _names.TryGetValue(name, out var existing) && existing.Counts.Remove(clientId) && existing.IsEmpty)
            {
                _names.Remove(name);
            }

            return;
        }

        if (!_names.TryGetValue(name, out var counts))
        {
            _names[name] = counts = new NameCounts();
        }

        var count = annotation.Count ?? 1;
        if (clientId is null)
        {
            counts.Unidentified += count;
        }
        else
        {
            counts.Counts[clientId] = counts.Counts.GetValueOrDefault(clientId) + count;
        }
    }

    public override void Render(Utf8JsonWriter writer, int maxClientIds)
    {
        writer.WriteStartObject();
        foreach (var (name, counts) in _names)
        {
            writer.WriteStartObject(name);
            writer.WriteNumber("total", counts.Counts.Values.Sum() + counts.Unidentified);
            writer.WriteStartObject("clientIds");
            foreach (var (clientId, count) in counts.Counts.Take(maxClientIds))
            {
                writer.WriteNumber(clientId, count);
            }

            writer.WriteEndObject();
            writer.WriteNumber("totalUnidentified", counts.Unidentified);
            writer.WriteBoolean("clipped", counts.Counts.Count > maxClientIds);
            writer.WriteNumber("totalClientIds", counts.Counts.Count);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    public override JsonNode Save()
    {
        var saved = new JsonObject();
        foreach (var (name, counts) in _names)
        {
            var clientIds = new JsonObject();
            foreach (var (clientId, count) in counts.Counts)
            {
                clientIds[clientId] = count;
            }

            saved[name] = new JsonObject { ["clientIds"] = clientIds, ["unidentified"] = counts.Unidentified };
        }

        return saved;
    }

    protected override void Restore(JsonNode saved)
    {
        foreach (var (name, node) in saved.AsObject())
        {
            var counts = new NameCounts { Unidentified = node!["unidentified"]?.GetValue<long>() ?? 0 };
            foreach (var (clientId, count) in node["clientIds"]!.AsObject())
            {
                counts.Counts[clientId] = count!.GetValue<long>();
            }

            _names[name] = counts;
        }
    }

    private sealed class NameCounts
    {
        public OrderedDictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

        public long Unidentified { get; set; }

        public bool IsEmpty => Counts.Count == 0 && Unidentified == 0;
    }
}
