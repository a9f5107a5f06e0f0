using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace TokenWire.Server.Push;

/// <summary>
/// APNs provider authentication tokens: an ES256 JWT (<c>kid</c> the key id, <c>iss</c> the team, <c>iat</c> now)
/// reused for every request until it is <see cref="RefreshAfter"/> old, since Apple refuses tokens older than an hour
/// and throttles ones renewed more often than every 20 minutes.
/// </summary>
public sealed class ApnsProviderTokens(ApnsCredentials credentials, TimeProvider time)
{
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromMinutes(50);

    private readonly Lock _lock = new();
    private string? _token;
    private DateTimeOffset _issued;

    public string Current()
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_token is null || now - _issued >= RefreshAfter)
            {
                _issued = now;
                _token = JsonWebTokens.Create(
                    new JsonObject { ["alg"] = "ES256", ["kid"] = credentials.KeyId },
                    new JsonObject { ["iss"] = credentials.TeamId, ["iat"] = now.ToUnixTimeSeconds() },
                    data => credentials.Key.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
            }

            return _token;
        }
    }

    /// <summary>Apple called <paramref name="token"/> expired or invalid: the next request signs a new one.</summary>
    public void Invalidate(string token)
    {
        lock (_lock)
        {
            if (_token == token)
            {
                _token = null;
            }
        }
    }
}
