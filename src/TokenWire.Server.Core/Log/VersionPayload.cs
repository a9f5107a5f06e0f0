using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// A message's <c>version</c> object (TM2): the client supplies clientId, description and metadata; the log adds
/// <c>serial</c> (the version's own serial) and <c>timestamp</c> when it appends the version.
/// </summary>
public static class VersionPayload
{
    /// <summary>The client's operation fields only (never its serial or timestamp); clientId defaults to the actor's.</summary>
    public static JsonPayload Compose(JsonPayload? requested, string? actorClientId)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            var hasClientId = false;
            if (requested is not null)
            {
                using var doc = JsonDocument.Parse(requested.Utf8Json);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in doc.RootElement.EnumerateObject())
                    {
                        if (property.NameEquals("clientId") || property.NameEquals("description") || property.NameEquals("metadata"))
                        {
                            hasClientId |= property.NameEquals("clientId");
                            property.WriteTo(writer);
                        }
                    }
                }
            }

            if (!hasClientId && actorClientId is not null)
            {
                writer.WriteString("clientId", actorClientId);
            }

            writer.WriteEndObject();
        }

        return new JsonPayload(buffer.WrittenMemory.ToArray());
    }

    /// <summary>The clientId the operation names, if any (checked like a message's clientId).</summary>
    public static string? ClientIdOf(JsonPayload? version)
    {
        if (version is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(version.Utf8Json);
        return doc.RootElement.ValueKind == JsonValueKind.Object
            && doc.RootElement.TryGetProperty("clientId", out var clientId)
            && clientId.ValueKind == JsonValueKind.String
            ? clientId.GetString()
            : null;
    }

    /// <summary>Adds the version's serial and timestamp in front of the composed fields.</summary>
    public static JsonPayload Stamp(JsonPayload? composed, string serial, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(160);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("serial", serial);
            writer.WriteNumber("timestamp", timestamp);
            if (composed is not null)
            {
                using var doc = JsonDocument.Parse(composed.Utf8Json);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in doc.RootElement.EnumerateObject())
                    {
                        if (!property.NameEquals("serial") && !property.NameEquals("timestamp"))
                        {
                            property.WriteTo(writer);
                        }
                    }
                }
            }

            writer.WriteEndObject();
        }

        return new JsonPayload(buffer.WrittenMemory.ToArray());
    }
}
