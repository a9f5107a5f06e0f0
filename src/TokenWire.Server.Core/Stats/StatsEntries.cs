using System.Text.Json;

namespace TokenWire.Server.Stats;

/// <summary>
/// Ably's flat stats entries (<c>messages.inbound.realtime.messages.count</c>, <c>connections.all.peak</c>…). What is
/// counted and stored are the leaves (direction, transport, type); the aggregates (<c>messages.inbound.all.messages</c>,
/// <c>messages.all.all</c>, <c>apiRequests.all</c>…) are derived when read, so stored fixtures and counted traffic
/// add up the same way. Entries that are zero are left out, as Ably does.
/// </summary>
public static class StatsEntries
{
    /// <summary>Peaks merge by maximum (a later, lower sample never lowers a peak); every other entry is a sum.</summary>
    public static bool IsPeak(string name) => name.EndsWith(".peak", StringComparison.Ordinal);

    /// <summary>Adds <paramref name="value"/> to <paramref name="entries"/>[<paramref name="name"/>] by the entry's rule.</summary>
    public static void Merge(IDictionary<string, long> entries, string name, long value)
    {
        entries[name] = entries.TryGetValue(name, out var current)
            ? IsPeak(name) ? Math.Max(current, value) : current + value
            : value;
    }

    /// <summary>The leaves plus every aggregate Ably reports for them, by name.</summary>
    public static SortedDictionary<string, long> Expand(IReadOnlyDictionary<string, long> leaves)
    {
        var entries = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, value) in leaves)
        {
            if (value == 0)
            {
                continue;
            }

            Add(entries, name, value);
            var parts = name.Split('.');
            switch (parts)
            {
                case ["messages", "inbound" or "outbound", var transport, var type, var field] when transport != "all" && type != "all":
                    Add(entries, $"messages.{parts[1]}.all.{type}.{field}", value);
                    Add(entries, $"messages.{parts[1]}.{transport}.all.{field}", value);
                    Add(entries, $"messages.{parts[1]}.all.all.{field}", value);
                    Add(entries, $"messages.all.{type}.{field}", value);
                    Add(entries, $"messages.all.all.{field}", value);
                    break;
                case ["messages", "persisted", var type, var field] when type != "all":
                    Add(entries, $"messages.persisted.all.{field}", value);
                    break;
                case ["connections", var kind, var field] when kind != "all":
                    Add(entries, $"connections.all.{field}", value);
                    break;
                case ["apiRequests", var kind, var field] when kind != "all":
                    Add(entries, $"apiRequests.all.{field}", value);
                    break;
            }
        }

        return entries;
    }

    /// <summary>
    /// The leaves of a stats fixture as Ably's sandbox takes them (<c>POST /stats</c>): the nested shape
    /// (<c>inbound.realtime.messages.count</c>, <c>connections.tls.peak</c>, <c>apiRequests.succeeded</c>,
    /// <c>tokenRequests.failed</c>…) or flat <c>entries</c>.
    /// </summary>
    public static Dictionary<string, long> FromFixture(JsonElement fixture)
    {
        var leaves = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var property in fixture.EnumerateObject())
        {
            var prefix = property.Name switch
            {
                "intervalId" or "unit" or "schema" or "appId" or "inProgress" => null,
                "entries" => string.Empty,
                "all" or "inbound" or "outbound" or "persisted" => "messages." + property.Name,
                "apiRequests" => "apiRequests.other",
                "tokenRequests" => "apiRequests.tokenRequests",
                var other => other,
            };
            if (prefix is not null)
            {
                Flatten(property.Value, prefix, leaves);
            }
        }

        return leaves;
    }

    private static void Flatten(JsonElement value, string path, Dictionary<string, long> leaves)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in value.EnumerateObject())
            {
                Flatten(property.Value, path.Length == 0 ? property.Name : $"{path}.{property.Name}", leaves);
            }
        }
        else if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && path.Length > 0)
        {
            Merge(leaves, path, number);
        }
    }

    private static void Add(SortedDictionary<string, long> entries, string name, long value) => Merge(entries, name, value);
}
