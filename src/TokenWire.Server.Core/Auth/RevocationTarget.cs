namespace TokenWire.Server.Auth;

/// <summary>
/// What one revocation applies to (Ably <c>revokeTokens</c> target specifiers): tokens issued by key
/// <paramref name="KeyName"/> whose <paramref name="Type"/> is <paramref name="Value"/>.
/// </summary>
public readonly record struct RevocationTarget(string KeyName, string Type, string Value)
{
    /// <summary>Tokens whose own clientId (<see cref="AuthContext.TokenClientId"/>) is the value.</summary>
    public const string ClientId = "clientId";

    /// <summary>Ably JWTs whose <c>x-ably-revocation-key</c> claim (<see cref="AuthContext.RevocationKey"/>) is the value.</summary>
    public const string RevocationKey = "revocationKey";
}
