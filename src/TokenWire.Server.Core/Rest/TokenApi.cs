using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Rest;

/// <summary><c>POST /keys/{keyName}/requestToken</c> (reference §5.7): a signed TokenRequest, or TokenParams with Basic auth.</summary>
public static class TokenApi
{
    public static IEndpointRouteBuilder MapTokenApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/keys/{keyName}/requestToken", RequestTokenAsync);
        return routes;
    }

    private static async Task RequestTokenAsync(HttpContext context, string keyName, TokenService tokens, RestAuthentication authentication, AppRegistry apps, IOptions<TokenWireOptions> options)
    {
        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);

        TokenDetails details;
        if (context.Request.Headers.Authorization.Count > 0)
        {
            // Basic auth with the key itself: the body is optional TokenParams.
            var auth = authentication.Authenticate(context.Request);
            if (auth.IsToken || auth.Key.Name != keyName)
            {
                throw new ProtocolException(ErrorCodes.InvalidCredentials, "requestToken with Basic auth needs the same key as in the path");
            }

            if (body.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
            {
                throw new ProtocolException(ErrorCodes.InvalidRequestBody, "TokenParams must be a JSON object");
            }

            string? Str(string name) => body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            long? ttl = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("ttl", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetInt64(out var n) ? n : null;
            details = tokens.Issue(auth.Key, ttl, Str("capability"), Str("clientId"));
        }
        else
        {
            var request = TokenRequest.Parse(body);
            if (request.KeyName != keyName)
            {
                throw new ProtocolException(ErrorCodes.InvalidCredentials, "TokenRequest keyName does not match the path");
            }

            if (apps.FindKey(keyName) is null)
            {
                throw new ProtocolException(ErrorCodes.NotFound, $"No key named '{keyName}'");
            }

            details = tokens.IssueFromRequest(request);
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w => TokenJson.Write(w, details));
    }
}
