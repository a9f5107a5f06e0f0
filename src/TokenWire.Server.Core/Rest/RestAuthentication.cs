using System.Text;
using Microsoft.AspNetCore.Http;
using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Rest;

/// <summary>REST credentials: <c>Authorization: Basic base64(key)</c>, clientId from <c>X-Ably-ClientId</c> (base64).</summary>
public sealed class RestAuthentication(Authenticator authenticator)
{
    /// <summary>The <see cref="HttpContext.Items"/> key under which the authenticated app's id is left (for stats).</summary>
    public const string AppIdItem = "tokenwire.appId";

    public AuthContext Authenticate(HttpRequest request)
    {
        var auth = AuthenticateHeader(request);
        request.HttpContext.Items[AppIdItem] = auth.App.Id;
        return auth;
    }

    private AuthContext AuthenticateHeader(HttpRequest request)
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
            // ably-js base64-encodes the token in the Bearer header (reference §5.1); accept a raw token too.
            var value = header["Bearer ".Length..].Trim();
            string token;
            try
            {
                token = Encoding.UTF8.GetString(Convert.FromBase64String(value));
            }
            catch (FormatException)
            {
                token = value;
            }

            return authenticator.AuthenticateToken(token, ClientIdHeader(request));
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
