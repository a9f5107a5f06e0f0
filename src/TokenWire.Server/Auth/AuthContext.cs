namespace TokenWire.Server.Auth;

/// <summary>Who a connection or REST request is: the app, the key it authenticated with, its rights and identity.</summary>
public sealed record AuthContext(AppDefinition App, ApiKey Key, Capability Capability, string? ClientId)
{
    /// <summary>Wildcard identity: may act as any clientId, but must name it per message.</summary>
    public bool IsWildcardClient => ClientId == "*";
}
