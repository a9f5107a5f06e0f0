namespace TokenWire.Server.Auth;

/// <summary>
/// Token revocation (Ably <c>revokeTokens</c>, spec RSA17) as every token check sees it: whether a token is revoked
/// by its clientId or (Ably JWTs) its revocation key. Tokens are self-contained (<see cref="TokenService"/>), so
/// there is nothing to delete; instead every token check asks the <see cref="ITokenRevocationStore"/>, which is
/// node-local with the embedded engine and shared by every node with the Redis engine.
/// </summary>
public sealed class TokenRevocations(ITokenRevocationStore store, TimeProvider time)
{
    /// <summary>Ably's <c>allowReauthMargin</c>: revocation is postponed this long so clients can fetch a new token first.</summary>
    public static readonly TimeSpan ReauthMargin = TimeSpan.FromSeconds(30);

    public ITokenRevocationStore Store => store;

    public ValueTask<TokenRevocation> RevokeAsync(TokenRevocation revocation, CancellationToken cancellationToken = default) =>
        store.RevokeAsync(revocation, cancellationToken);

    /// <summary>Whether the token behind <paramref name="auth"/> is revoked now (always false for key auth).</summary>
    public bool IsRevoked(AuthContext auth)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return Matching(auth, RevocationTarget.ClientId, auth.TokenClientId) is { } byClient && now >= byClient.AppliesAt
            || Matching(auth, RevocationTarget.RevocationKey, auth.RevocationKey) is { } byKey && now >= byKey.AppliesAt;
    }

    /// <summary>Whether the token behind <paramref name="auth"/> is revoked, or will be once a reauth margin ends.</summary>
    public bool Covers(AuthContext auth) =>
        Matching(auth, RevocationTarget.ClientId, auth.TokenClientId) is not null
        || Matching(auth, RevocationTarget.RevocationKey, auth.RevocationKey) is not null;

    /// <summary>Whether <paramref name="revocation"/> itself applies to the token behind <paramref name="auth"/> (in force or not).</summary>
    public static bool Matches(TokenRevocation revocation, AuthContext auth) =>
        auth.IsToken && auth.Key.RevocableTokens && auth.Key.Name == revocation.Target.KeyName
        && (auth.IssuedAt?.ToUnixTimeMilliseconds() ?? 0) < revocation.IssuedBefore
        && revocation.Target.Type switch
        {
            RevocationTarget.ClientId => auth.TokenClientId == revocation.Target.Value,
            RevocationTarget.RevocationKey => auth.RevocationKey == revocation.Target.Value,
            _ => false,
        };

    private TokenRevocation? Matching(AuthContext auth, string type, string? value) =>
        auth.IsToken && auth.Key.RevocableTokens && value is not null && !store.IsEmpty
        && store.TryGet(new RevocationTarget(auth.Key.Name, type, value), out var revocation)
        && (auth.IssuedAt?.ToUnixTimeMilliseconds() ?? 0) < revocation.IssuedBefore
            ? revocation
            : null;
}
