using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using TokenWire.Protocol;

namespace TokenWire.Server.Auth;

/// <summary>
/// Issues and verifies tokens (reference §4.9, §5.7, §6). TokenWire tokens are self-contained and signed with the
/// issuing key's secret (<c>tw1.payload.signature</c>), so every node that knows the key can verify them with no
/// shared token store. Ably JWTs (HS256, <c>kid</c> = key name) are accepted wherever a token is.
/// </summary>
public sealed class TokenService(AppRegistry apps, TimeProvider time)
{
    public static readonly TimeSpan DefaultTtl = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxTtl = TimeSpan.FromHours(24);

    /// <summary>How far a TokenRequest's timestamp may be from our clock (Ably allows about ten minutes).</summary>
    public static readonly TimeSpan TimestampWindow = TimeSpan.FromMinutes(10);

    private const string TokenPrefix = "tw1.";

    private readonly ConcurrentDictionary<string, long> _usedNonces = new(StringComparer.Ordinal);

    /// <summary>Handles a signed TokenRequest: mac, timestamp window, nonce replay, then issues.</summary>
    public TokenDetails IssueFromRequest(TokenRequest request)
    {
        var key = apps.FindKey(request.KeyName)
            ?? throw new ProtocolException(ErrorCodes.NotFound, $"No key named '{request.KeyName}'");
        byte[] mac;
        try
        {
            mac = Convert.FromBase64String(request.Mac);
        }
        catch (FormatException)
        {
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "TokenRequest mac is not base64");
        }

        if (!key.SignatureMatches(Encoding.UTF8.GetBytes(request.SignedText()), mac))
        {
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "TokenRequest mac does not match: sign it with the key's secret");
        }

        var now = time.GetUtcNow();
        if (Math.Abs(now.ToUnixTimeMilliseconds() - request.Timestamp) > TimestampWindow.TotalMilliseconds)
        {
            throw new ProtocolException(ErrorCodes.Create(40104, "TokenRequest timestamp is outside the allowed window; check the clock or use queryTime"));
        }

        ForgetOldNonces(now);
        if (!_usedNonces.TryAdd(request.KeyName + ":" + request.Nonce, now.ToUnixTimeMilliseconds()))
        {
            throw new ProtocolException(ErrorCodes.Create(40105, "TokenRequest nonce has already been used"));
        }

        return Issue(key, request.Ttl, request.Capability, request.ClientId);
    }

    /// <summary>Issues a token for a key: capability = requested ∩ key's; ttl defaults to one hour, at most a day.</summary>
    public TokenDetails Issue(ApiKey key, long? ttlMs, string? capabilityJson, string? clientId)
    {
        var capability = key.Capability;
        if (!string.IsNullOrEmpty(capabilityJson))
        {
            Capability requested;
            try
            {
                requested = Capability.Parse(capabilityJson);
            }
            catch (FormatException ex)
            {
                throw new ProtocolException(ErrorCodes.BadRequest, "Invalid capability: " + ex.Message);
            }

            capability = key.Capability.Intersect(requested);
            if (capability.IsEmpty)
            {
                throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Requested capability is not permitted by the key");
            }
        }

        var ttl = ttlMs is { } t ? TimeSpan.FromMilliseconds(t) : DefaultTtl;
        if (ttl <= TimeSpan.Zero || ttl > MaxTtl)
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"Token ttl must be positive and at most {MaxTtl.TotalHours} hours");
        }

        var issued = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = issued + (long)ttl.TotalMilliseconds;
        var payload = JsonSerializer.SerializeToUtf8Bytes(new TokenPayload(key.Name, issued, expires, capability.Json, clientId), TokenJsonContext.Default.TokenPayload);
        var body = TokenPrefix + WebEncoders.Base64UrlEncode(payload);
        var token = body + "." + WebEncoders.Base64UrlEncode(key.Sign(Encoding.UTF8.GetBytes(body)));
        return new TokenDetails(token, key.Name, issued, expires, capability.Json, clientId);
    }

    /// <summary>Verifies a TokenWire token or an Ably JWT; throws the Ably token error the SDK acts on.</summary>
    public AuthContext Validate(string token)
    {
        var context = token.StartsWith(TokenPrefix, StringComparison.Ordinal) ? ValidateTokenWire(token) : ValidateJwt(token);
        if (context.ExpiresAt <= time.GetUtcNow())
        {
            throw new ProtocolException(ErrorCodes.TokenExpired, "Token expired");
        }

        return context;
    }

    private AuthContext ValidateTokenWire(string token)
    {
        var dot = token.LastIndexOf('.');
        if (dot <= TokenPrefix.Length)
        {
            throw Unrecognised();
        }

        TokenPayload payload;
        byte[] signature;
        try
        {
            payload = JsonSerializer.Deserialize(WebEncoders.Base64UrlDecode(token[TokenPrefix.Length..dot]), TokenJsonContext.Default.TokenPayload)
                ?? throw Unrecognised();
            signature = WebEncoders.Base64UrlDecode(token[(dot + 1)..]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw Unrecognised();
        }

        var key = apps.FindKey(payload.KeyName);
        if (key is null || !key.SignatureMatches(Encoding.UTF8.GetBytes(token[..dot]), signature))
        {
            throw Unrecognised();
        }

        return new AuthContext(apps.FindApp(key.AppId)!, key, Capability.Parse(payload.Capability), payload.ClientId,
            DateTimeOffset.FromUnixTimeMilliseconds(payload.Expires));
    }

    /// <summary>Ably JWT (reference §6): HS256, <c>kid</c> = key name, <c>x-ably-capability</c>, <c>x-ably-clientId</c>.</summary>
    private AuthContext ValidateJwt(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            throw Unrecognised();
        }

        JsonElement header, claims;
        byte[] signature;
        try
        {
            header = JsonSerializer.Deserialize(WebEncoders.Base64UrlDecode(parts[0]), TokenJsonContext.Default.JsonElement);
            claims = JsonSerializer.Deserialize(WebEncoders.Base64UrlDecode(parts[1]), TokenJsonContext.Default.JsonElement);
            signature = WebEncoders.Base64UrlDecode(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            throw InvalidJwt("JWT is not well formed");
        }

        if (header.ValueKind != JsonValueKind.Object || claims.ValueKind != JsonValueKind.Object)
        {
            throw InvalidJwt("JWT is not well formed");
        }

        // Only HS256: 'none' or any other algorithm would let a client choose how (or whether) it is verified.
        if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "HS256")
        {
            throw InvalidJwt("JWT must be signed with HS256");
        }

        if (!header.TryGetProperty("kid", out var kid) || kid.ValueKind != JsonValueKind.String || apps.FindKey(kid.GetString()!) is not { } key)
        {
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "JWT kid does not name a known key");
        }

        if (!key.SignatureMatches(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature))
        {
            throw InvalidJwt("JWT signature does not match");
        }

        if (!claims.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out var expSeconds))
        {
            throw InvalidJwt("JWT has no exp claim");
        }

        var capability = key.Capability;
        if (claims.TryGetProperty("x-ably-capability", out var cap) && cap.ValueKind == JsonValueKind.String)
        {
            try
            {
                capability = key.Capability.Intersect(Capability.Parse(cap.GetString()!));
            }
            catch (FormatException ex)
            {
                throw InvalidJwt("JWT x-ably-capability is invalid: " + ex.Message);
            }
        }

        var clientId = claims.TryGetProperty("x-ably-clientId", out var cid) && cid.ValueKind == JsonValueKind.String ? cid.GetString() : null;
        return new AuthContext(apps.FindApp(key.AppId)!, key, capability, clientId, DateTimeOffset.FromUnixTimeSeconds(expSeconds));
    }

    private void ForgetOldNonces(DateTimeOffset now)
    {
        if (_usedNonces.Count < 1024)
        {
            return;
        }

        var cutoff = now.ToUnixTimeMilliseconds() - (long)(TimestampWindow.TotalMilliseconds * 2);
        foreach (var (nonce, at) in _usedNonces)
        {
            if (at < cutoff)
            {
                _usedNonces.TryRemove(nonce, out _);
            }
        }
    }

    private static ProtocolException Unrecognised() => new(ErrorCodes.Create(40143, "Token not recognised"));

    private static ProtocolException InvalidJwt(string message) => new(ErrorCodes.Create(40144, message));
}
