using System.Text.Json;

namespace TokenWire.Server.Auth;

/// <summary>
/// An Ably capability: resource pattern → operations (reference §6). Matching follows Ably's wildcard rules:
/// segments split on <c>:</c>; <c>*</c> matches one whole segment; a trailing <c>*</c> matches one or more
/// segments; <c>*</c> alone matches every name except <c>[qualified]</c> ones, which need <c>[*]*</c>.
/// </summary>
public sealed class Capability
{
    private static readonly Dictionary<string, ChannelOperation> OperationNames = new(StringComparer.Ordinal)
    {
        ["publish"] = ChannelOperation.Publish,
        ["subscribe"] = ChannelOperation.Subscribe,
        ["presence"] = ChannelOperation.Presence,
        ["history"] = ChannelOperation.History,
        ["stats"] = ChannelOperation.Stats,
        ["channel-metadata"] = ChannelOperation.ChannelMetadata,
        ["push-subscribe"] = ChannelOperation.PushSubscribe,
        ["push-admin"] = ChannelOperation.PushAdmin,
        ["privileged-headers"] = ChannelOperation.PrivilegedHeaders,
        ["object-subscribe"] = ChannelOperation.ObjectSubscribe,
        ["object-publish"] = ChannelOperation.ObjectPublish,
        ["annotation-subscribe"] = ChannelOperation.AnnotationSubscribe,
        ["annotation-publish"] = ChannelOperation.AnnotationPublish,
        ["message-update-own"] = ChannelOperation.MessageUpdateOwn,
        ["message-update-any"] = ChannelOperation.MessageUpdateAny,
        ["message-delete-own"] = ChannelOperation.MessageDeleteOwn,
        ["message-delete-any"] = ChannelOperation.MessageDeleteAny,
        ["*"] = ChannelOperation.All,
    };

    private readonly KeyValuePair<string, ChannelOperation>[] _grants;

    private Capability(KeyValuePair<string, ChannelOperation>[] grants, string json)
    {
        _grants = grants;
        Json = json;
    }

    public static Capability All { get; } = Parse("""{"*":["*"]}""");

    /// <summary>The capability as the canonical JSON string Ably returns (keys and ops sorted, compact).</summary>
    public string Json { get; }

    public IReadOnlyList<KeyValuePair<string, ChannelOperation>> Grants => _grants;

    /// <summary>Parses capability JSON; throws <see cref="FormatException"/> with the reason when invalid.</summary>
    public static Capability Parse(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            throw new FormatException("Capability is not valid JSON: " + ex.Message, ex);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException("Capability must be a JSON object");
            }

            var grants = new List<KeyValuePair<string, ChannelOperation>>();
            foreach (var resource in doc.RootElement.EnumerateObject())
            {
                if (resource.Value.ValueKind != JsonValueKind.Array || resource.Value.GetArrayLength() == 0)
                {
                    throw new FormatException($"Capability for '{resource.Name}' must be a non-empty array of operations");
                }

                var ops = ChannelOperation.None;
                var hasStar = false;
                foreach (var op in resource.Value.EnumerateArray())
                {
                    if (op.ValueKind != JsonValueKind.String || !OperationNames.TryGetValue(op.GetString()!, out var flag))
                    {
                        throw new FormatException($"Unknown capability operation {op} for '{resource.Name}'");
                    }

                    hasStar |= flag == ChannelOperation.All;
                    ops |= flag;
                }

                if (hasStar && resource.Value.GetArrayLength() > 1)
                {
                    throw new FormatException($"Capability for '{resource.Name}' mixes '*' with other operations");
                }

                grants.Add(new(resource.Name, ops));
            }

            var array = grants.ToArray();
            return new Capability(array, Canonical(array));
        }
    }

    /// <summary>
    /// Ably's token capability rule: what is both requested and held by the key. A requested resource survives where a
    /// key resource contains it (and the other way round for wildcards the key narrows), with the operations of both.
    /// </summary>
    public Capability Intersect(Capability requested)
    {
        var result = new Dictionary<string, ChannelOperation>(StringComparer.Ordinal);
        foreach (var (wanted, wantedOps) in requested._grants)
        {
            foreach (var (held, heldOps) in _grants)
            {
                var ops = wantedOps & heldOps;
                if (ops == ChannelOperation.None)
                {
                    continue;
                }

                string? resource = Matches(held, wanted) ? wanted : Matches(wanted, held) ? held : null;
                if (resource is not null)
                {
                    result[resource] = result.GetValueOrDefault(resource) | ops;
                }
            }
        }

        var array = result.ToArray();
        return new Capability(array, Canonical(array));
    }

    public bool IsEmpty => _grants.Length == 0;

    /// <summary>The operations granted on a channel: the union over every matching resource.</summary>
    public ChannelOperation OperationsFor(string channelName)
    {
        var ops = ChannelOperation.None;
        foreach (var (pattern, granted) in _grants)
        {
            if (Matches(pattern, channelName))
            {
                ops |= granted;
            }
        }

        return ops;
    }

    public bool Allows(string channelName, ChannelOperation operation) => (OperationsFor(channelName) & operation) == operation;

    /// <summary>Ably resource matching (reference §6 "Wildcard matching").</summary>
    public static bool Matches(string pattern, string channelName)
    {
        if (pattern == "[*]*")
        {
            return true;
        }

        if (channelName.StartsWith('[') || pattern.StartsWith('['))
        {
            // Qualified names only match qualified patterns; compare the qualifier literally, then the rest.
            var nameEnd = channelName.IndexOf(']');
            var patternEnd = pattern.IndexOf(']');
            if (nameEnd < 0 || patternEnd < 0)
            {
                return false;
            }

            var patternQualifier = pattern[..(patternEnd + 1)];
            if (patternQualifier != "[*]" && patternQualifier != channelName[..(nameEnd + 1)])
            {
                return false;
            }

            return MatchSegments(pattern[(patternEnd + 1)..], channelName[(nameEnd + 1)..]);
        }

        return MatchSegments(pattern, channelName);
    }

    private static bool MatchSegments(string pattern, string name)
    {
        if (pattern == "*")
        {
            return true;
        }

        var patternParts = pattern.Split(':');
        var nameParts = name.Split(':');
        for (var i = 0; i < patternParts.Length; i++)
        {
            var part = patternParts[i];
            var last = i == patternParts.Length - 1;
            if (last && part == "*")
            {
                return nameParts.Length >= patternParts.Length;
            }

            if (i >= nameParts.Length)
            {
                return false;
            }

            if (part != "*" && part != nameParts[i])
            {
                return false;
            }
        }

        return nameParts.Length == patternParts.Length;
    }

    private static string Canonical(KeyValuePair<string, ChannelOperation>[] grants)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            foreach (var (resource, ops) in grants.OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                writer.WriteStartArray(resource);
                foreach (var name in NamesOf(ops))
                {
                    writer.WriteStringValue(name);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static IEnumerable<string> NamesOf(ChannelOperation ops) => ops == ChannelOperation.All
        ? ["*"]
        : OperationNames.Where(p => p.Value != ChannelOperation.All && (ops & p.Value) != 0)
            .Select(p => p.Key)
            .OrderBy(n => n, StringComparer.Ordinal);

    public override string ToString() => Json;
}
