using System.Security.Cryptography;
using System.Text;

namespace TokenWire.Server.Auth;

/// <summary>A configured API key: <c>appId.keyId:secret</c> with its capability.</summary>
public sealed class ApiKey(string appId, string keyId, string secret, Capability capability, bool revocableTokens = false)
{
    private readonly byte[] _secret = Encoding.UTF8.GetBytes(secret);

    public string AppId { get; } = appId;

    /// <summary><c>appId.keyId</c>, the public half of the key.</summary>
    public string Name { get; } = $"{appId}.{keyId}";

    public Capability Capability { get; } = capability;

    /// <summary>Ably's <c>revocableTokens</c>: tokens this key issues can be revoked (<see cref="TokenRevocations"/>).</summary>
    public bool RevocableTokens { get; } = revocableTokens;

    /// <summary>Constant-time comparison so the secret cannot be guessed byte by byte from timing.</summary>
    public bool SecretMatches(ReadOnlySpan<char> candidate)
    {
        Span<byte> buffer = stackalloc byte[256];
        var count = Encoding.UTF8.GetMaxByteCount(candidate.Length) <= buffer.Length
            ? Encoding.UTF8.GetBytes(candidate, buffer)
            : -1;
        return count >= 0 && CryptographicOperations.FixedTimeEquals(buffer[..count], _secret);
    }

    /// <summary>HMAC-SHA256 keyed with the secret: signs TokenRequests, TokenWire tokens and Ably JWTs.</summary>
    public byte[] Sign(ReadOnlySpan<byte> data) => HMACSHA256.HashData(_secret, data);

    public bool SignatureMatches(ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature) =>
        CryptographicOperations.FixedTimeEquals(Sign(data), signature);

    /// <summary>Splits <c>appId.keyId:secret</c>; false when the shape is wrong (ably-js: <c>^[^:\s]+:[^:.\s]+$</c>).</summary>
    public static bool TrySplit(string? key, out string keyName, out string secret)
    {
        keyName = secret = string.Empty;
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        var colon = key.IndexOf(':');
        if (colon <= 0 || colon == key.Length - 1 || key.IndexOf(':', colon + 1) >= 0)
        {
            return false;
        }

        keyName = key[..colon];
        secret = key[(colon + 1)..];
        return keyName.Contains('.');
    }
}
