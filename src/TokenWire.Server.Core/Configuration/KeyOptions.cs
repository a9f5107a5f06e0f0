namespace TokenWire.Server.Configuration;

public sealed class KeyOptions
{
    /// <summary>The key id; the full key name is <c>appId.keyId</c>.</summary>
    public string Id { get; set; } = string.Empty;

    public string Secret { get; set; } = string.Empty;

    /// <summary>Ably capability JSON, e.g. <c>{"*":["*"]}</c>.</summary>
    public string Capability { get; set; } = """{"*":["*"]}""";

    /// <summary>
    /// Ably's <c>revocableTokens</c>: tokens issued by this key can be revoked with <c>POST /keys/{keyName}/revokeTokens</c>.
    /// Off by default, as in Ably, because every token check then also consults the revocation list.
    /// </summary>
    public bool RevocableTokens { get; set; }
}
