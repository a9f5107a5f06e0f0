using TokenWire.Protocol;

namespace TokenWire.Server.Auth;

/// <summary>Turns presented credentials into an <see cref="AuthContext"/>, or the Ably error to answer with.</summary>
public sealed class Authenticator(AppRegistry apps, TokenService tokens)
{
    /// <summary>Basic (key) authentication: <c>appId.keyId:secret</c>, with an optional claimed clientId.</summary>
    public AuthContext Authenticate(string? key, string? clientId)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new ProtocolException(ErrorCodes.NoAuthMethod, "No authentication information provided");
        }

        if (!ApiKey.TrySplit(key, out var keyName, out var secret))
        {
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "Invalid key: expected appId.keyId:secret");
        }

        var apiKey = apps.FindKey(keyName);
        if (apiKey is null || !apiKey.SecretMatches(secret))
        {
            // One message for unknown key and wrong secret, so key names cannot be probed.
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "Invalid credentials");
        }

        if (clientId is not null && (clientId.Length == 0 || clientId == "*"))
        {
            throw new ProtocolException(ErrorCodes.InvalidClientId, "Invalid clientId: it must be a non-empty string other than '*'");
        }

        return new AuthContext(apps.FindApp(apiKey.AppId)!, apiKey, apiKey.Capability, clientId);
    }

    /// <summary>
    /// Token authentication (TokenWire token or Ably JWT). The token's clientId binds the connection: a different
    /// claimed clientId is refused (40102); a wildcard token lets the client name its identity.
    /// </summary>
    public AuthContext AuthenticateToken(string token, string? clientId)
    {
        var context = tokens.Validate(token);
        if (clientId is null || clientId == context.ClientId)
        {
            return context;
        }

        if (context.IsWildcardClient && clientId.Length > 0 && clientId != "*")
        {
            return context with { ClientId = clientId };
        }

        throw new ProtocolException(ErrorCodes.IncompatibleCredentials, $"clientId '{clientId}' is incompatible with the token's clientId '{context.ClientId}'");
    }
}
