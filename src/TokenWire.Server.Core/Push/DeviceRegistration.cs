using System.Buffers;
using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Push;

/// <summary>
/// A device registered for push (Ably's DeviceDetails): its identity, platform and push recipient (kept as the JSON
/// object the client sent, since each transport reads its own fields), the delivery state and last error, and the
/// device identity token the device authenticates its own requests with.
/// </summary>
public sealed record DeviceRegistration
{
    public required string Id { get; init; }

    public string? ClientId { get; init; }

    public string? DeviceSecret { get; init; }

    public required string Platform { get; init; }

    public required string FormFactor { get; init; }

    /// <summary>The device's <c>metadata</c> object as raw JSON, or null.</summary>
    public string? Metadata { get; init; }

    /// <summary>The <c>push.recipient</c> object as raw JSON.</summary>
    public required string Recipient { get; init; }

    /// <summary><c>ACTIVE</c>, <c>FAILING</c> or <c>FAILED</c> (Ably's push.state).</summary>
    public string State { get; init; } = "ACTIVE";

    /// <summary>The last delivery's error while <see cref="State"/> is not ACTIVE.</summary>
    public ErrorInfo? Error { get; init; }

    /// <summary>The token the device presents as <c>X-Ably-DeviceToken</c> or a Bearer token; see <see cref="DeviceIdentityTokens"/>.</summary>
    public string? IdentityToken { get; init; }

    public long IdentityTokenIssued { get; init; }

    /// <summary>The recipient's <c>transportType</c>.</summary>
    public string TransportType
    {
        get
        {
            using var document = JsonDocument.Parse(Recipient);
            return document.RootElement.TryGetProperty("transportType", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()! : string.Empty;
        }
    }

    /// <summary>The registration as Ably's REST API shows it (<c>deviceIdentityToken</c> only on registration).</summary>
    public void Write(Utf8JsonWriter w, bool withIdentityToken = false)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        if (ClientId is not null)
        {
            w.WriteString("clientId", ClientId);
        }

        if (DeviceSecret is not null)
        {
            w.WriteString("deviceSecret", DeviceSecret);
        }

        w.WriteString("platform", Platform);
        w.WriteString("formFactor", FormFactor);
        if (Metadata is not null)
        {
            w.WritePropertyName("metadata");
            w.WriteRawValue(Metadata);
        }

        w.WriteStartObject("push");
        w.WritePropertyName("recipient");
        w.WriteRawValue(Recipient);
        w.WriteString("state", State);
        if (Error is { } error)
        {
            w.WriteStartObject("error");
            w.WriteNumber("code", error.Code);
            w.WriteNumber("statusCode", error.StatusCode);
            w.WriteString("message", error.Message);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        if (withIdentityToken && IdentityToken is not null)
        {
            w.WriteStartObject("deviceIdentityToken");
            w.WriteString("token", IdentityToken);
            w.WriteNumber("issued", IdentityTokenIssued);
            w.WriteNumber("expires", long.MaxValue / 2);
            w.WriteString("capability", string.Empty);
            if (ClientId is not null)
            {
                w.WriteString("clientId", ClientId);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>What a store keeps: everything, the identity token included.</summary>
    public string ToStoredJson()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", Id);
            WriteOptional(w, "clientId", ClientId);
            WriteOptional(w, "deviceSecret", DeviceSecret);
            w.WriteString("platform", Platform);
            w.WriteString("formFactor", FormFactor);
            WriteOptional(w, "metadata", Metadata);
            w.WriteString("recipient", Recipient);
            w.WriteString("state", State);
            if (Error is { } error)
            {
                w.WriteNumber("errorCode", error.Code);
                w.WriteNumber("errorStatus", error.StatusCode);
                w.WriteString("errorMessage", error.Message);
            }

            WriteOptional(w, "token", IdentityToken);
            w.WriteNumber("tokenIssued", IdentityTokenIssued);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static DeviceRegistration FromStoredJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        return new DeviceRegistration
        {
            Id = root.GetProperty("id").GetString()!,
            ClientId = Optional(root, "clientId"),
            DeviceSecret = Optional(root, "deviceSecret"),
            Platform = root.GetProperty("platform").GetString()!,
            FormFactor = root.GetProperty("formFactor").GetString()!,
            Metadata = Optional(root, "metadata"),
            Recipient = root.GetProperty("recipient").GetString()!,
            State = root.GetProperty("state").GetString()!,
            Error = root.TryGetProperty("errorCode", out var code)
                ? new ErrorInfo(code.GetInt32(), root.GetProperty("errorStatus").GetInt32(), root.GetProperty("errorMessage").GetString()!)
                : null,
            IdentityToken = Optional(root, "token"),
            IdentityTokenIssued = root.GetProperty("tokenIssued").GetInt64(),
        };
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static string? Optional(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
