using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Push;

/// <summary>
/// Ably's push validation (40000 with the reason): a device's platform and form factor, and a transport recipient's
/// fields per <c>transportType</c> — <c>fcm</c>/<c>gcm</c> (registrationToken), <c>apns</c> (deviceToken), <c>web</c>
/// (targetUrl, base64 of the push service endpoint as ably-js's activation sends it; encryptionKey.p256dh and .auth),
/// <c>ablyChannel</c> (channel, ablyKey, ablyUrl).
/// </summary>
public static class PushRecipients
{
    public static readonly string[] Platforms = ["android", "ios", "browser"];

    public static readonly string[] FormFactors = ["phone", "tablet", "desktop", "tv", "watch", "car", "embedded", "other"];

    /// <summary>The validated device registration a request body describes (for PUT the path's id must agree).</summary>
    public static DeviceRegistration ParseDevice(JsonElement body, string? pathId)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("A device registration must be an object");
        }

        var id = OptionalString(body, "id", "id") ?? pathId;
        if (string.IsNullOrEmpty(id))
        {
            throw new ProtocolException(ErrorCodes.InvalidDeviceId, "A device registration needs an id");
        }

        if (pathId is not null && id != pathId)
        {
            throw new ProtocolException(ErrorCodes.InvalidDeviceId, $"Device id '{id}' does not match the id in the path, '{pathId}'");
        }

        var platform = OptionalString(body, "platform", "platform");
        if (platform is null || !Platforms.Contains(platform))
        {
            throw Invalid($"Invalid platform '{platform}': expected one of {string.Join(", ", Platforms)}");
        }

        var formFactor = OptionalString(body, "formFactor", "formFactor");
        if (formFactor is null || !FormFactors.Contains(formFactor))
        {
            throw Invalid($"Invalid formFactor '{formFactor}': expected one of {string.Join(", ", FormFactors)}");
        }

        var clientId = OptionalString(body, "clientId", "clientId");
        if (clientId is "" or "*")
        {
            throw new ProtocolException(ErrorCodes.InvalidClientId, "Invalid device clientId");
        }

        if (!body.TryGetProperty("push", out var push) || push.ValueKind != JsonValueKind.Object
            || !push.TryGetProperty("recipient", out var recipient))
        {
            throw Invalid("A device registration needs push.recipient");
        }

        return new DeviceRegistration
        {
            Id = id,
            ClientId = clientId,
            DeviceSecret = OptionalString(body, "deviceSecret", "deviceSecret"),
            Platform = platform,
            FormFactor = formFactor,
            Metadata = Metadata(body),
            Recipient = ValidateRecipient(recipient).GetRawText(),
        };
    }

    /// <summary>A PATCH (the device updating itself): recipient, clientId, metadata or form factor replace the stored ones.</summary>
    public static DeviceRegistration ApplyPatch(DeviceRegistration device, JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("A device registration update must be an object");
        }

        var updated = device;
        if (body.TryGetProperty("push", out var push) && push.ValueKind == JsonValueKind.Object && push.TryGetProperty("recipient", out var recipient))
        {
            // A new recipient is a fresh start for delivery.
            updated = updated with { Recipient = ValidateRecipient(recipient).GetRawText(), State = "ACTIVE", Error = null };
        }

        if (OptionalString(body, "formFactor", "formFactor") is { } formFactor)
        {
            updated = FormFactors.Contains(formFactor) ? updated with { FormFactor = formFactor } : throw Invalid($"Invalid formFactor '{formFactor}'");
        }

        if (OptionalString(body, "clientId", "clientId") is { } clientId)
        {
            updated = updated with { ClientId = clientId };
        }

        return Metadata(body) is { } metadata ? updated with { Metadata = metadata } : updated;
    }

    /// <summary>Checks a transport recipient's fields for its <c>transportType</c>.</summary>
    public static JsonElement ValidateRecipient(JsonElement recipient)
    {
        if (recipient.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("push.recipient must be an object");
        }

        var type = OptionalString(recipient, "transportType", "recipient.transportType");
        string[] required = type switch
        {
            "fcm" or "gcm" => ["registrationToken"],
            "apns" => ["deviceToken"],
            "web" => ["targetUrl"],
            "ablyChannel" => ["channel", "ablyKey", "ablyUrl"],
            null => throw Invalid("push.recipient needs a transportType"),
            _ => throw Invalid($"Unsupported push transportType '{type}': expected fcm, gcm, apns, web or ablyChannel"),
        };
        foreach (var field in required)
        {
            if (string.IsNullOrEmpty(OptionalString(recipient, field, "recipient." + field)))
            {
                throw Invalid($"A {type} recipient needs {field}");
            }
        }

        if (type == "web")
        {
            _ = WebTarget(recipient);
        }

        return recipient;
    }

    /// <summary>A web recipient's push service endpoint, its p256dh public key and its auth secret.</summary>
    public static (Uri Endpoint, string P256dh, string Auth) WebTarget(JsonElement recipient)
    {
        var target = recipient.GetProperty("targetUrl").GetString()!;
        if (!Uri.TryCreate(DecodeTargetUrl(target), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("https" or "http"))
        {
            throw Invalid("A web recipient's targetUrl must be an http(s) URL, base64-encoded as ably-js sends it");
        }

        if (!recipient.TryGetProperty("encryptionKey", out var key) || key.ValueKind != JsonValueKind.Object
            || OptionalString(key, "p256dh", "encryptionKey.p256dh") is not { Length: > 0 } p256dh
            || OptionalString(key, "auth", "encryptionKey.auth") is not { Length: > 0 } auth)
        {
            throw Invalid("A web recipient needs encryptionKey.p256dh and encryptionKey.auth");
        }

        return (endpoint, ToBase64Url(p256dh), ToBase64Url(auth));
    }

    /// <summary>ably-js sends <c>btoa(endpoint)</c>; a plain URL is accepted too.</summary>
    private static string DecodeTargetUrl(string target)
    {
        if (target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal))
        {
            return target;
        }

        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(ToPadded(target.Replace('-', '+').Replace('_', '/'))));
        }
        catch (FormatException)
        {
            return target;
        }
    }

    /// <summary>ably-js encodes the keys with standard base64 (despite its helper's name); the Web Push library wants base64url.</summary>
    private static string ToBase64Url(string value) => value.TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string ToPadded(string base64) => base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');

    private static string? Metadata(JsonElement body) =>
        body.TryGetProperty("metadata", out var metadata) && metadata.ValueKind is JsonValueKind.Object or JsonValueKind.String
            ? metadata.GetRawText()
            : null;

    private static string? OptionalString(JsonElement body, string name, string label)
    {
        if (!body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Invalid($"{label} must be a string");
    }

    internal static ProtocolException Invalid(string message) => new(ErrorCodes.BadRequest, message);
}
