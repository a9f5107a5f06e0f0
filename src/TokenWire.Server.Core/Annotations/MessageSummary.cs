using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using TokenWire.Protocol;

namespace TokenWire.Server.Annotations;

/// <summary>
/// A message's annotation summary: one <see cref="TypeSummary"/> per annotation type, in the order the types first
/// appeared. The one place both engines fold annotations: the in-memory store keeps it live, Redis saves it
/// (<see cref="Save"/>) beside the message's annotations and folds each new one under a compare-and-set.
/// </summary>
public sealed class MessageSummary
{
    private readonly OrderedDictionary<string, TypeSummary> _types = new(StringComparer.Ordinal);

    public bool IsEmpty => _types.Count == 0;

    /// <summary>Folds one validated annotation in.</summary>
    public void Apply(Annotation annotation)
    {
        var type = annotation.Type!;
        if (!_types.TryGetValue(type, out var summary))
        {
            _types[type] = summary = TypeSummary.Create(AnnotationRules.MethodOf(type));
        }

        summary.Apply(annotation);
    }

    /// <summary>The message's <c>annotations</c> field: <c>{ "summary": { type: entry, … } }</c>.</summary>
    public JsonPayload Render(int maxClientIds)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("summary");
            foreach (var (type, summary) in _types)
            {
                writer.WritePropertyName(type);
                summary.Render(writer, maxClientIds);
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return new JsonPayload(buffer.WrittenMemory.ToArray());
    }

    public string Save()
    {
        var saved = new JsonObject();
        foreach (var (type, summary) in _types)
        {
            saved[type] = summary.Save();
        }

        return saved.ToJsonString();
    }

    public static MessageSummary Load(string? saved)
    {
        var summary = new MessageSummary();
        if (string.IsNullOrEmpty(saved))
        {
            return summary;
        }

        foreach (var (type, node) in JsonNode.Parse(saved)!.AsObject())
        {
            summary._types[type] = TypeSummary.Load(AnnotationRules.MethodOf(type), node!);
        }

        return summary;
    }
}
