using System.Text.Json;

namespace TokenWire.Client;

/// <summary>
/// A message's annotation summary (spec TM2u): per annotation type, what the server folded from every annotation of
/// that type so far. It reaches message subscribers as action <c>message.summary</c> each time it changes, and comes
/// with messages read over REST (history, <c>GetMessageAsync</c>). Read an entry with the accessor of its type's
/// method; <see cref="Entries"/> has every entry as sent.
/// </summary>
public sealed class AnnotationSummary
{
    internal AnnotationSummary(IReadOnlyDictionary<string, JsonElement> entries) => Entries = entries;

    /// <summary>Every entry as sent, by annotation type (<c>namespace:method.v1</c>).</summary>
    public IReadOnlyDictionary<string, JsonElement> Entries { get; }

    /// <summary>The types with an entry.</summary>
    public IEnumerable<string> Types => Entries.Keys;

    /// <summary>A <c>total.v1</c> entry (<c>{ total }</c>); null when the message has none of that type.</summary>
    public SummaryTotal? GetTotal(string type) =>
        Entry(type, "total.v1") is { } entry ? new SummaryTotal(Long(entry, "total")) : null;

    /// <summary>A <c>flag.v1</c> entry: the clients that flagged the message.</summary>
    public SummaryClientIdList? GetFlag(string type) =>
        Entry(type, "flag.v1") is { } entry ? ClientIdList(entry) : null;

    /// <summary>A <c>distinct.v1</c> entry: per name, the clients that used it (a client may use several names).</summary>
    public IReadOnlyDictionary<string, SummaryClientIdList>? GetDistinct(string type) => ByName(type, "distinct.v1", ClientIdList);

    /// <summary>A <c>unique.v1</c> entry: per name, the clients whose latest annotation of the type has that name.</summary>
    public IReadOnlyDictionary<string, SummaryClientIdList>? GetUnique(string type) => ByName(type, "unique.v1", ClientIdList);

    /// <summary>A <c>multiple.v1</c> entry: per name, the summed counts.</summary>
    public IReadOnlyDictionary<string, SummaryClientIdCounts>? GetMultiple(string type) => ByName(type, "multiple.v1", ClientIdCounts);

    /// <summary>Reads <c>{ "summary": { type: entry } }</c>; null when there is no summary object.</summary>
    internal static AnnotationSummary? Parse(JsonElement annotations)
    {
        if (annotations.ValueKind != JsonValueKind.Object
            || !annotations.TryGetProperty("summary", out var summary)
            || summary.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var entries = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var entry in summary.EnumerateObject())
        {
            entries[entry.Name] = entry.Value;
        }

        return new AnnotationSummary(entries);
    }

    private JsonElement? Entry(string type, string method)
    {
        ArgumentException.ThrowIfNullOrEmpty(type);
        if (!type.EndsWith(":" + method, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Annotation type '{type}' is not of method {method}", nameof(type));
        }

        return Entries.TryGetValue(type, out var entry) && entry.ValueKind == JsonValueKind.Object ? entry : null;
    }

    private Dictionary<string, T>? ByName<T>(string type, string method, Func<JsonElement, T> read)
    {
        if (Entry(type, method) is not { } entry)
        {
            return null;
        }

        var names = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var name in entry.EnumerateObject())
        {
            if (name.Value.ValueKind == JsonValueKind.Object)
            {
                names[name.Name] = read(name.Value);
            }
        }

        return names;
    }

    private static SummaryClientIdList ClientIdList(JsonElement entry)
    {
        var clientIds = new List<string>();
        if (entry.TryGetProperty("clientIds", out var array) && array.ValueKind == JsonValueKind.Array)
        {
            foreach (var id in array.EnumerateArray())
            {
                if (id.ValueKind == JsonValueKind.String)
                {
                    clientIds.Add(id.GetString()!);
                }
            }
        }

        return new SummaryClientIdList(Long(entry, "total"), clientIds, Bool(entry, "clipped"));
    }

    private static SummaryClientIdCounts ClientIdCounts(JsonElement entry)
    {
        var clientIds = new Dictionary<string, long>(StringComparer.Ordinal);
        if (entry.TryGetProperty("clientIds", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var client in map.EnumerateObject())
            {
                if (client.Value.ValueKind == JsonValueKind.Number && client.Value.TryGetInt64(out var count))
                {
                    clientIds[client.Name] = count;
                }
            }
        }

        return new SummaryClientIdCounts(Long(entry, "total"), clientIds, Long(entry, "totalUnidentified"), Bool(entry, "clipped"), Long(entry, "totalClientIds"));
    }

    private static long Long(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : 0;

    private static bool Bool(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
