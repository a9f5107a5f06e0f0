using System.Text;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Rest;

/// <summary>REST credentials: <c>Authorization: Basic base64(key)</c>, clientId from <c>X-Ably-ClientId</c> (base64).</summary>
public sealed class RestAuthentication(Authenticator authenticator)
{
    public AuthContext Authenticate(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            string key;
            try
            {
                key = Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..].Trim()));
            }
            catch (FormatException ex)
            {
                throw new ProtocolException(ErrorCodes.InvalidCredentialFormat, "Malformed Basic authorization header", ex);
            }

            return authenticator.Authenticate(key, ClientIdHeader(request));
        }

        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            // Not a 4014x: that code makes the SDK request a new token and retry forever (reference §4.9).
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "Token authentication is not enabled on this server; use a key");
        }

        throw new ProtocolException(ErrorCodes.NoAuthMethod, "No authentication information provided: use Basic auth with an API key");
    }

    private static string? ClientIdHeader(HttpRequest request)
    {
        var value = request.Headers["X-Ably-ClientId"].ToString();
        if (value.Length == 0)
        {
            return null;
        }

        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(value));
        }
        catch (FormatException ex)
        {
            throw new ProtocolException(ErrorCodes.InvalidClientId, "X-Ably-ClientId must be base64-encoded", ex);
        }
    }
}
