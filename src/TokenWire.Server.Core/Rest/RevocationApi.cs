using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Rest;

/// <summary>
/// <c>POST /keys/{keyName}/revokeTokens</c> (reference §5.2, spec RSA17): Basic auth with that key only (40162
/// otherwise; another key: 40133), the key must have <c>revocableTokens</c> (40164). Body <c>{targets:["clientId:x",
/// "revocationKey:k",…], issuedBefore?, allowReauthMargin?}</c>; the answer is a BatchResult with one entry per
/// target. Recording is all this does: <see cref="RevocationEnforcer"/> on every node (the store tells each of them)
/// disconnects the live connections using a revoked token, with DISCONNECTED 40141 or, within
/// <c>allowReauthMargin</c>, first an AUTH request.
/// </summary>
public static partial class RevocationApi
{
    public static IEndpointRouteBuilder MapRevocationApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/keys/{keyName}/revokeTokens", RevokeTokensAsync);
        return routes;
    }

    private static async Task RevokeTokensAsync(
        HttpContext context,
        string keyName,
        RestAuthentication authentication,
        TokenRevocations revocations,
        TimeProvider time,
        IOptions<TokenWireOptions> options,
        ILogger<TokenRevocations> logger)
    {
        var auth = authentication.Authenticate(context.Request);
        if (auth.IsToken)
        {
            throw new ProtocolException(ErrorCodes.RequiresBasicAuth, "Token revocation requires Basic authentication with the key that issued the tokens");
        }

        if (auth.Key.Name != keyName)
        {
            throw new ProtocolException(ErrorCodes.WrongKeyForRevocation, "Can only revoke tokens using the same key that issued them (the key named in the path)");
        }

        if (!auth.Key.RevocableTokens)
        {
            throw new ProtocolException(ErrorCodes.TokenRevocationNotEnabled, $"Token revocation is not enabled for key '{keyName}' (revocableTokens)");
        }

        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var request = Parse(body, now);
        var appliesAt = now + (request.AllowReauthMargin ? (long)TokenRevocations.ReauthMargin.TotalMilliseconds : 0);
        var results = new List<(string Target, ErrorInfo? Error)>(request.Targets.Count);
        foreach (var target in request.Targets)
        {
            var colon = target.IndexOf(':');
            var (type, value) = colon > 0 ? (target[..colon], target[(colon + 1)..]) : (target, string.Empty);
            if (type == "channel")
            {
                // Ably answers this when revocation by channel is not enabled for the account; TokenWire has no such option.
                results.Add((target, ErrorCodes.Create(ErrorCodes.TokenRevocationNotEnabledForApp, "Revocation by channel is not enabled: TokenWire revokes by clientId or revocationKey")));
            }
            else if (type is not (RevocationTarget.ClientId or RevocationTarget.RevocationKey))
            {
                results.Add((target, ErrorCodes.Create(ErrorCodes.BadRequest, $"Unsupported revocation target type '{type}': use clientId:<id> or revocationKey:<key>")));
            }
            else if (value.Length == 0)
            {
                results.Add((target, ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"A {type} target needs a value: {type}:<value>")));
            }
            else
            {
                try
                {
                    await revocations.RevokeAsync(new TokenRevocation(new RevocationTarget(auth.Key.Name, type, value), request.IssuedBefore, appliesAt), context.RequestAborted);
                    results.Add((target, null));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The shared store (scale-out engine) is unreachable: this target is not revoked; the caller may retry it.
                    RevokeFailed(logger, ex, keyName);
                    results.Add((target, ErrorCodes.Create(ErrorCodes.ServiceUnavailable, "Revocation store unavailable; retry")));
                }
            }
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteNumber("successCount", results.Count(r => r.Error is null));
            w.WriteNumber("failureCount", results.Count(r => r.Error is not null));
            w.WriteStartArray("results");
            foreach (var (target, error) in results)
            {
                w.WriteStartObject();
                w.WriteString("target", target);
                if (error is null)
                {
                    w.WriteNumber("issuedBefore", request.IssuedBefore);
                    w.WriteNumber("appliesAt", appliesAt);
                }
                else
                {
                    w.WritePropertyName("error");
                    Protocol.Json.JsonProtocolWriter.WriteError(w, error);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private sealed record RevokeRequest(IReadOnlyList<string> Targets, long IssuedBefore, bool AllowReauthMargin);

    private static RevokeRequest Parse(JsonElement body, long now)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("targets", out var targets) || targets.ValueKind != JsonValueKind.Array
            || targets.GetArrayLength() == 0 || targets.EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "revokeTokens needs {\"targets\": [\"clientId:<id>\" or \"revocationKey:<key>\", …]}");
        }

        var issuedBefore = now;
        if (body.TryGetProperty("issuedBefore", out var before) && before.ValueKind != JsonValueKind.Null)
        {
            if (before.ValueKind != JsonValueKind.Number || !before.TryGetInt64(out issuedBefore) || issuedBefore < 0 || issuedBefore > now)
            {
                throw new ProtocolException(ErrorCodes.InvalidParameterValue, "issuedBefore must be a time in milliseconds, not in the future");
            }
        }

        var margin = body.TryGetProperty("allowReauthMargin", out var m) && m.ValueKind == JsonValueKind.True;
        return new RevokeRequest([.. targets.EnumerateArray().Select(t => t.GetString()!)], issuedBefore, margin);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "revokeTokens for key {KeyName}: recording the revocation failed")]
    private static partial void RevokeFailed(ILogger logger, Exception exception, string keyName);
}
