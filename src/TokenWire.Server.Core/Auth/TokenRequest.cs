using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TokenWire.Protocol;

namespace TokenWire.Server.Auth;

/// <summary>
/// A signed Ably TokenRequest (spec TE, reference §5.7). <c>mac</c> = base64(HMAC-SHA256(secret,
/// "keyName\nttl\ncapability\nclientId\ntimestamp\nnonce\n")), with absent fields as empty strings, checked against
/// the capability string exactly as sent.
/// </summary>
public sealed record TokenRequest(string KeyName, long? Ttl, string? Capability, string? ClientId, long Timestamp, string Nonce, string Mac)
{
    public static TokenRequest Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenRequest must be a JSON object");
        }

        string? Str(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        long? Num(string name) => body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

        // A present but non-integer ttl is a bad parameter (400), not a signature mismatch.
        if (body.TryGetProperty("ttl", out var ttl) && ttl.ValueKind != JsonValueKind.Null && (ttl.ValueKind != JsonValueKind.Number || !ttl.TryGetInt64(out _)))
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, "TokenRequest ttl must be an integer number of milliseconds");
        }

        var keyName = Str("keyName") ?? throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenRequest has no keyName");
        var timestamp = Num("timestamp") ?? throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenRequest has no timestamp");
        var nonce = Str("nonce") ?? throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenRequest has no nonce");
        var mac = Str("mac") ?? throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenRequest has no mac");
        return new TokenRequest(keyName, Num("ttl"), Str("capability"), Str("clientId"), timestamp, nonce, mac);
    }

    /// <summary>The exact text the mac signs.</summary>
    public string SignedText() => SignedText(KeyName, Ttl, Capability, ClientId, Timestamp, Nonce);

    public static string SignedText(string keyName, long? ttl, string? capability, string? clientId, long timestamp, string nonce) =>
        string.Concat(keyName, "\n", ttl?.ToString(System.Globalization.CultureInfo.InvariantCulture), "\n", capability, "\n", clientId, "\n",
            timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture), "\n", nonce, "\n");

    public static string ComputeMac(string secret, string keyName, long? ttl, string? capability, string? clientId, long timestamp, string nonce) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(SignedText(keyName, ttl, capability, clientId, timestamp, nonce))));
}
