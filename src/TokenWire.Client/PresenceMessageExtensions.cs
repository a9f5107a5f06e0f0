using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Typed access to a presence message's payload, with the same rules as <see cref="MessageExtensions"/>.</summary>
public static class PresenceMessageExtensions
{
    /// <summary>The payload when it is a plain string; null for binary or JSON payloads.</summary>
    public static string? GetText(this PresenceMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Encoding is null ? message.Data.Text : null;
    }

    /// <summary>The payload when it is binary; null otherwise.</summary>
    public static byte[]? GetBytes(this PresenceMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Encoding is null ? message.Data.Bytes : null;
    }

    /// <summary>The payload as a JSON value when it is JSON; null otherwise.</summary>
    public static JsonElement? GetJson(this PresenceMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.ToMessage().GetJson();
    }

    /// <summary>The JSON payload deserialized as <typeparamref name="T"/>; default when the payload is not JSON.</summary>
    public static T? GetJson<T>(this PresenceMessage message, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.ToMessage().GetJson<T>(options);
    }
}
