using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary><c>total.v1</c>: <c>{ total }</c>, one more per create and one fewer per delete (never below zero).</summary>
public sealed class TotalSummary : TypeSummary
{
    public long Total { get; private set; }

    public override void Apply(Annotation annotation) =>
        Total = IsDelete(annotation) ? Math.Max(0, Total - 1) : Total + 1;

    public override void Render(Utf8JsonWriter writer, int maxClientIds)
    {
        writer.WriteStartObject();
        writer.WriteNumber("total", Total);
        writer.WriteEndObject();
    }

    public override JsonNode Save() => new JsonObject { ["total"] = Total };

    protected override void Restore(JsonNode saved) => Total = saved["total"]?.GetValue<long>() ?? 0;
}
