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
public sealed class TokenService(AppRegistry apps, TokenRevocations revocations, TimeProvider time)
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
        var window = (long)TimestampWindow.TotalMilliseconds;
        if (request.Timestamp < now.ToUnixTimeMilliseconds() - window || request.Timestamp > now.ToUnixTimeMilliseconds() + window)
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

        if (ttlMs is { } t && (t <= 0 || t > MaxTtl.TotalMilliseconds))
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"Token ttl must be positive and at most {MaxTtl.TotalHours} hours");
        }

        var ttl = ttlMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultTtl;

        var issued = time.GetUtcNow().ToUnixTimeMilliseconds();
        var expires = issued + (long)ttl.TotalMilliseconds;
        var payload = JsonSerializer.SerializeToUtf8Bytes(new TokenPayload(key.Name, issued, expires, capability.Json, clientId), TokenJsonContext.Default.TokenPayload);
        var body = TokenPrefix + WebEncoders.Base64UrlEncode(payload);
        var token = body + "." + WebEncoders.Base64UrlEncode(key.Sign(Encoding.UTF8.GetBytes(body)));
        return new TokenDetails(token, key.Name, issued, expires, capability.Json, clientId);
    }

    /// <summary>
    /// Verifies a TokenWire token or an Ably JWT; throws the Ably token error the SDK acts on (40142 expired,
    /// 40141 revoked (by clientId or, for JWTs, revocation key), 40143/40144 not ours), which makes it fetch a new token.
    /// </summary>
    public AuthContext Validate(string token)
    {
        var context = token.StartsWith(TokenPrefix, StringComparison.Ordinal) ? ValidateTokenWire(token) : ValidateJwt(token);
        if (context.ExpiresAt <= time.GetUtcNow())
        {
            throw new ProtocolException(ErrorCodes.TokenExpired, "Token expired");
        }

        if (revocations.IsRevoked(context))
        {
            throw new ProtocolException(ErrorCodes.TokenRevoked, "Token revoked");
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
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
        {
            throw Unrecognised();
        }

        // The payload is not trusted until its signature is checked, and JSON may leave any field out (found by
        // TokenServiceTests' fuzzing: a payload without "k" reached FindKey(null)).
        var key = payload.KeyName is null ? null : apps.FindKey(payload.KeyName);
        if (key is null || !key.SignatureMatches(Encoding.UTF8.GetBytes(token[..dot]), signature))
        {
            throw Unrecognised();
        }

        return new AuthContext(apps.FindApp(key.AppId)!, key, Capability.Parse(payload.Capability), payload.ClientId,
            DateTimeOffset.FromUnixTimeMilliseconds(payload.Expires))
        {
            IssuedAt = DateTimeOffset.FromUnixTimeMilliseconds(payload.Issued),
            TokenClientId = payload.ClientId,
        };
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
            header = ParseSegment(parts[0]);
            claims = ParseSegment(parts[1]);
            signature = WebEncoders.Base64UrlDecode(parts[2]);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or InvalidOperationException)
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
            // Ably answers 40400 when the JWT's app does not exist (ably-js test/rest/auth.test.js expects it).
            throw new ProtocolException(ErrorCodes.NotFound, "JWT kid does not name a known key");
        }

        if (!key.SignatureMatches(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature))
        {
            throw InvalidJwt("JWT signature does not match");
        }

        if (!TryGetSeconds(claims, "exp", out var expires))
        {
            throw InvalidJwt("JWT has no valid exp claim");
        }

        // iat is required by Ably; a JWT without it counts as issued at the epoch, so any revocation covers it.
        var issued = TryGetSeconds(claims, "iat", out var iat) ? iat : DateTimeOffset.UnixEpoch;

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
        var revocationKey = claims.TryGetProperty("x-ably-revocation-key", out var rk) && rk.ValueKind == JsonValueKind.String ? rk.GetString() : null;
        return new AuthContext(apps.FindApp(key.AppId)!, key, capability, clientId, expires)
        {
            IssuedAt = issued,
            TokenClientId = clientId,
            RevocationKey = revocationKey,
        };
    }

    /// <summary>A base64url JSON segment whose strings can all be read (so GetString() below cannot throw).</summary>
    private static JsonElement ParseSegment(string segment)
    {
        var json = WebEncoders.Base64UrlDecode(segment);
        Protocol.Json.JsonStrings.EnsureDecodable(json);
        return JsonSerializer.Deserialize(json, TokenJsonContext.Default.JsonElement);
    }

    /// <summary>A NumericDate claim (seconds since the epoch) within the range a DateTimeOffset can hold.</summary>
    private static bool TryGetSeconds(JsonElement claims, string name, out DateTimeOffset value)
    {
        value = default;
        if (!claims.TryGetProperty(name, out var claim) || claim.ValueKind != JsonValueKind.Number || !claim.TryGetInt64(out var seconds)
            || seconds < 0 || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
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

    private static ProtocolException Unrecognised() => new(ErrorCodes.Create(ErrorCodes.TokenUnrecognised, "Token not recognised"));

    private static ProtocolException InvalidJwt(string message) => new(ErrorCodes.Create(ErrorCodes.InvalidJwt, message));
}
