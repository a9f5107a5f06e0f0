using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Rest;

/// <summary>
/// <c>POST /keys/{keyName}/revokeTokens</c> (reference §5.2, spec RSA17): Basic auth with that key only (40162
/// otherwise), the key must have <c>revocableTokens</c> (40164). Body <c>{targets:["clientId:x",…], issuedBefore?,
/// allowReauthMargin?}</c>; the answer is a BatchResult with one entry per target. Live connections on this node using
/// a revoked token get DISCONNECTED 40141 (the SDK then fetches a new token); with <c>allowReauthMargin</c> they are
/// first asked to reauthorize (AUTH) and only disconnected when the margin ends. See <see cref="TokenRevocations"/>
/// for what "node-local" means here.
/// </summary>
public static class RevocationApi
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
        LiveConnections live,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        IOptions<TokenWireOptions> options)
    {
        var auth = authentication.Authenticate(context.Request);
        if (auth.IsToken)
        {
            throw new ProtocolException(ErrorCodes.RequiresBasicAuth, "Token revocation requires Basic authentication with the key that issued the tokens");
        }

        if (auth.Key.Name != keyName)
        {
            throw new ProtocolException(ErrorCodes.InvalidCredentials, "Tokens can only be revoked with the key that issued them (the key named in the path)");
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
            if (type != "clientId")
            {
                results.Add((target, ErrorCodes.Create(ErrorCodes.BadRequest, $"Unsupported revocation target type '{type}': TokenWire revokes by clientId")));
            }
            else if (value.Length == 0)
            {
                results.Add((target, ErrorCodes.Create(ErrorCodes.InvalidParameterValue, "A clientId target needs a clientId: clientId:<id>")));
            }
            else
            {
                revocations.Revoke(auth.Key, value, request.IssuedBefore, appliesAt);
                results.Add((target, null));
            }
        }

        if (request.AllowReauthMargin)
        {
            // Ask the affected connections to reauthorize now; whoever is still on a revoked token when the margin
            // ends is disconnected then.
            foreach (var connection in live.ForApp(auth.App.Id))
            {
                if (revocations.Covers(connection.Auth) && connection.Transport is { } transport)
                {
                    transport.Send(new ProtocolMessage(ProtocolAction.Auth));
                }
            }

            _ = EnforceLaterAsync(auth.App.Id, live, revocations, time, TokenRevocations.ReauthMargin, lifetime.ApplicationStopping);
        }
        else
        {
            Disconnect(auth.App.Id, live, revocations);
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
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "revokeTokens needs {\"targets\": [\"clientId:<id>\", …]}");
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

    /// <summary>DISCONNECTED 40141 to every live connection of the app whose token is revoked now.</summary>
    private static void Disconnect(string appId, LiveConnections live, TokenRevocations revocations)
    {
        foreach (var connection in live.ForApp(appId))
        {
            if (revocations.IsRevoked(connection.Auth) && connection.Transport is { } transport)
            {
                transport.SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = ErrorCodes.Create(ErrorCodes.TokenRevoked, "Token revoked") });
            }
        }
    }

    private static async Task EnforceLaterAsync(string appId, LiveConnections live, TokenRevocations revocations, TimeProvider time, TimeSpan delay, CancellationToken stopping)
    {
        try
        {
            // A little past appliesAt, so the check below sees the revocation in force.
            await Task.Delay(delay + TimeSpan.FromMilliseconds(50), time, stopping).ConfigureAwait(false);
            Disconnect(appId, live, revocations);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
