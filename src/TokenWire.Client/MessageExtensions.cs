using System.Text.Json;
using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Typed access to a received message's payload and extras.</summary>
public static class MessageExtensions
{
    /// <summary>The payload when it is a plain string; null for binary or JSON payloads.</summary>
    public static string? GetText(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Encoding is null ? message.Data.Text : null;
    }

    /// <summary>The payload when it is binary; null otherwise.</summary>
    public static byte[]? GetBytes(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Encoding is null ? message.Data.Bytes : null;
    }

    /// <summary>True when the payload is JSON (an object or array published by ably-js, or JSON from this SDK).</summary>
    public static bool IsJson(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Encoding == PayloadCodec.JsonEncoding && message.Data.IsText;
    }

    /// <summary>The payload as a JSON value when it is JSON; null otherwise.</summary>
    public static JsonElement? GetJson(this Message message)
    {
        if (!message.IsJson())
        {
            return null;
        }

        using var document = JsonDocument.Parse(message.Data.Text!);
        return document.RootElement.Clone();
    }

    /// <summary>The JSON payload deserialized as <typeparamref name="T"/>; default when the payload is not JSON.</summary>
    public static T? GetJson<T>(this Message message, JsonSerializerOptions? options = null) =>
        message.IsJson() ? JsonSerializer.Deserialize<T>(message.Data.Text!, options ?? JsonSerializerOptions.Web) : default;

    /// <summary>The message's <c>extras</c> object, or null.</summary>
    public static JsonElement? GetExtras(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Extras?.ToElement();
    }

    /// <summary><c>extras.headers[name]</c> as a string (numbers and booleans as their JSON text), or null.</summary>
    public static string? GetHeader(this Message message, string name)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Extras?.MessagePack is { } packed && PackedHeaders.TryGet(packed, name, out var header))
        {
            return header;
        }

        if (message.GetExtras() is not { ValueKind: JsonValueKind.Object } extras
            || !extras.TryGetProperty("headers", out var headers)
            || headers.ValueKind != JsonValueKind.Object
            || !headers.TryGetProperty(name, out var value))
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            _ => value.GetRawText(),
        };
    }

    /// <summary>The message's <c>version</c> (set on updates, deletes, appends and by the server on every message), or null.</summary>
    public static MessageVersion? GetVersion(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Version?.ToElement() is not { ValueKind: JsonValueKind.Object } version)
        {
            return null;
        }

        string? Text(string name) => version.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        DateTimeOffset? timestamp = version.TryGetProperty("timestamp", out var ms) && ms.ValueKind == JsonValueKind.Number && ms.TryGetInt64(out var value)
            ? DateTimeOffset.FromUnixTimeMilliseconds(value)
            : null;
        Dictionary<string, string>? metadata = null;
        if (version.TryGetProperty("metadata", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            metadata = [];
            foreach (var entry in map.EnumerateObject())
            {
                metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
            }
        }

        return new MessageVersion(Text("serial"), timestamp, Text("clientId"), Text("description"), metadata);
    }

    /// <summary>
    /// The message's annotation summary: on a <c>message.summary</c> (action 4) the new summary of the message named
    /// by its <see cref="Message.Serial"/>; on messages read over REST, the summary so far. Null when there is none.
    /// </summary>
    public static AnnotationSummary? GetSummary(this Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Annotations?.ToElement() is { } annotations ? AnnotationSummary.Parse(annotations) : null;
    }
}
