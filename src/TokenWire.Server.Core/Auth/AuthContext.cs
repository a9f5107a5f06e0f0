using TokenWire.Protocol;

namespace TokenWire.Server.Auth;

/// <summary>
/// Who a connection or REST request is: the app, the key it authenticated with (directly or through a token issued
/// by that key), its rights and identity. <see cref="ExpiresAt"/> is set for token auth.
/// </summary>
public sealed record AuthContext(AppDefinition App, ApiKey Key, Capability Capability, string? ClientId, DateTimeOffset? ExpiresAt = null)
{
    /// <summary>Wildcard identity: may act as any clientId, but must name it per message.</summary>
    public bool IsWildcardClient => ClientId == "*";

    public bool IsToken => ExpiresAt is not null;

    /// <summary>The identity this caller acts under: its clientId; null when anonymous or a wildcard holder.</summary>
    public string? Identity => IsWildcardClient ? null : ClientId;

    /// <summary>
    /// The clientId an item this caller sends (a message, a presence item, an operation) carries: the one it states —
    /// never empty or <c>*</c>, and for an identified caller its own (40012) — or else its identity.
    /// </summary>
    /// <param name="subject">What the item is, for the error text ("Message", "Presence", "Operation").</param>
    public string? ClientIdFor(string? stated, string subject)
    {
        if (stated is null)
        {
            return Identity;
        }

        if (stated.Length == 0 || stated == "*")
        {
            throw new ProtocolException(ErrorCodes.InvalidClientId, $"Invalid {subject.ToLowerInvariant()} clientId");
        }

        if (Identity is { } identity && identity != stated)
        {
            throw new ProtocolException(ErrorCodes.InvalidClientId, $"{subject} clientId '{stated}' does not match the connection's clientId '{identity}'");
        }

        return stated;
    }

    /// <summary>When the token was issued (token auth only): revocation applies to tokens issued before a point in time.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    /// <summary>The clientId written in the token itself (token auth only), which revocation targets; for a wildcard
    /// token this stays <c>*</c> while <see cref="ClientId"/> is the identity the client chose.</summary>
    public string? TokenClientId { get; init; }

    /// <summary>An Ably JWT's <c>x-ably-revocation-key</c> claim: tokens sharing it are revoked together
    /// (<c>revocationKey:</c> targets). Ably documents it for JWTs only, so TokenWire's own tokens never carry one.</summary>
    public string? RevocationKey { get; init; }
}
