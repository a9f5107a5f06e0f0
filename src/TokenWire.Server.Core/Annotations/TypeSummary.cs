using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary>
/// The folded state of one annotation type on one message. <see cref="Apply"/> folds one validated annotation in;
/// <see cref="Render"/> writes the summary entry Ably sends (client id lists clipped to a limit, totals exact);
/// <see cref="Save"/> and <see cref="Load"/> are the stored form, which keeps every client id so a delete after
/// clipping is still exact.
/// </summary>
public abstract class TypeSummary
{
    public abstract void Apply(Annotation annotation);

    public abstract void Render(Utf8JsonWriter writer, int maxClientIds);

    public abstract JsonNode Save();

    public static TypeSummary Create(SummaryMethod method) => method switch
    {
        SummaryMethod.Total => new TotalSummary(),
        SummaryMethod.Flag => new FlagSummary(),
        SummaryMethod.Distinct => new NamedClientsSummary(uniquePerClient: false),
        SummaryMethod.Unique => new NamedClientsSummary(uniquePerClient: true),
        _ => new MultipleSummary(),
    };

    public static TypeSummary Load(SummaryMethod method, JsonNode saved)
    {
        var summary = Create(method);
        summary.Restore(saved);
        return summary;
    }

    protected abstract void Restore(JsonNode saved);

    protected static bool IsDelete(Annotation annotation) => annotation.Action == AnnotationActions.Delete;

    /// <summary>Ably's client id list: <c>{ total, clientIds, clipped }</c>.</summary>
    protected static void WriteClientIdList(Utf8JsonWriter writer, List<string> clientIds, int maxClientIds)
    {
        writer.WriteStartObject();
        writer.WriteNumber("total", clientIds.Count);
        writer.WriteStartArray("clientIds");
        for (var i = 0; i < clientIds.Count && i < maxClientIds; i++)
        {
            writer.WriteStringValue(clientIds[i]);
        }

        writer.WriteEndArray();
        writer.WriteBoolean("clipped", clientIds.Count > maxClientIds);
        writer.WriteEndObject();
    }

    protected static JsonArray SaveList(List<string> clientIds) => new([.. clientIds.Select(id => (JsonNode?)JsonValue.Create(id))]);

    protected static List<string> LoadList(JsonNode? saved) => saved is JsonArray array ? [.. array.Select(n => n!.GetValue<string>())] : [];
}
