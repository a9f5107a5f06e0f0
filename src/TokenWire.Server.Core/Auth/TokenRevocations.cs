using System.Collections.Concurrent;

namespace TokenWire.Server.Auth;

/// <summary>
/// Token revocation (Ably <c>revokeTokens</c>, spec RSA17): per key and clientId, the point in time before which issued
/// tokens are refused with 40141. Tokens are self-contained (<see cref="TokenService"/>), so there is nothing to delete;
/// instead every token check asks this list. Entries are kept for the life of the process: one per revoked clientId
/// and key, written only by Basic-auth requests with that key (JWTs may live longer than TokenWire's own tokens,
/// so there is no age after which an entry is safe to forget).
/// <para>
/// The list is node-local: a revocation reaches the node that received <c>POST /keys/{keyName}/revokeTokens</c>.
/// With several nodes behind a load balancer (the Redis engine), a revoked token is still accepted by the other nodes
/// until it expires, unless the revocation is sent to every node. A shared list would live next to the Redis
/// connection store.
/// </para>
/// </summary>
public sealed class TokenRevocations(TimeProvider time)
{
    /// <summary>Ably's <c>allowReauthMargin</c>: revocation is postponed this long so clients can fetch a new token first.</summary>
    public static readonly TimeSpan ReauthMargin = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(string KeyName, string ClientId), Revocation> _byTarget = new();

    /// <summary>Tokens of <c>keyName</c> for <c>clientId</c> issued before <see cref="IssuedBefore"/> are refused from <see cref="AppliesAt"/> on (Unix ms).</summary>
    public sealed record Revocation(long IssuedBefore, long AppliesAt);

    /// <summary>Records a revocation; a later <paramref name="issuedBefore"/> for the same target widens the existing one.</summary>
    public Revocation Revoke(ApiKey key, string clientId, long issuedBefore, long appliesAt)
    {
        var revocation = new Revocation(issuedBefore, appliesAt);
        return _byTarget.AddOrUpdate(
            (key.Name, clientId),
            revocation,
            (_, existing) => existing.IssuedBefore > issuedBefore ? existing : revocation);
    }

    /// <summary>Whether the token behind <paramref name="auth"/> is revoked now (always false for key auth).</summary>
    public bool IsRevoked(AuthContext auth) => Find(auth) is { } revocation && time.GetUtcNow().ToUnixTimeMilliseconds() >= revocation.AppliesAt;

    /// <summary>Whether the token behind <paramref name="auth"/> is revoked, or will be once a reauth margin ends.</summary>
    public bool Covers(AuthContext auth) => Find(auth) is not null;

    private Revocation? Find(AuthContext auth) =>
        auth.IsToken && auth.Key.RevocableTokens && auth.TokenClientId is { } clientId && !_byTarget.IsEmpty
        && _byTarget.TryGetValue((auth.Key.Name, clientId), out var revocation)
        && (auth.IssuedAt?.ToUnixTimeMilliseconds() ?? 0) < revocation.IssuedBefore
            ? revocation
            : null;
}
