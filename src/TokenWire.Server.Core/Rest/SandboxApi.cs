using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;

namespace TokenWire.Server.Rest;

/// <summary>
/// Sandbox provisioning in the shape Ably's sandbox takes (reference §8): <c>POST /apps</c> with <c>keys</c>
/// (capability JSON strings), <c>namespaces</c> (<c>persisted</c>) and <c>channels</c>; the answer lists
/// <c>appId</c>, <c>accountId</c>, <c>keys</c> (<c>keyName</c>, <c>keySecret</c>, <c>keyStr</c>, <c>capability</c>) and
/// <c>namespaces</c>. <c>DELETE /apps/{appId}</c> (Basic auth with one of its keys) removes it.
/// </summary>
public static class SandboxApi
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static IEndpointRouteBuilder MapSandboxApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/apps", CreateAppAsync);
        routes.MapDelete("/apps/{appId}", DeleteApp);
        return routes;
    }

    private static async Task CreateAppAsync(HttpContext context, AppRegistry apps, IOptions<TokenWireOptions> options)
    {
        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        if (body.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "App body must be a JSON object");
        }

        var appId = "sbx" + RandomNumberGenerator.GetString(Alphabet, 9);
        var app = new AppOptions { Id = appId };
        var keysIn = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("keys", out var k) && k.ValueKind == JsonValueKind.Array
            ? k.EnumerateArray().ToList()
            : [default];
        for (var i = 0; i < keysIn.Count; i++)
        {
            var key = keysIn[i];
            var capability = key.ValueKind == JsonValueKind.Object && key.TryGetProperty("capability", out var c)
                ? c.ValueKind == JsonValueKind.String ? c.GetString()! : c.GetRawText()
                : """{"*":["*"]}""";
            var revocable = key.ValueKind == JsonValueKind.Object && key.TryGetProperty("revocableTokens", out var r) && r.ValueKind == JsonValueKind.True;
            app.Keys.Add(new KeyOptions
            {
                Id = "k" + i + RandomNumberGenerator.GetString(Alphabet, 5),
                Secret = RandomNumberGenerator.GetString(Alphabet, 32),
                Capability = capability,
                RevocableTokens = revocable,
            });
        }

        var namespaces = new List<(string Id, JsonElement Raw)>();
        if (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("namespaces", out var ns) && ns.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in ns.EnumerateArray())
            {
                if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String)
                {
                    var persisted = item.TryGetProperty("persisted", out var p) && p.ValueKind == JsonValueKind.True;
                    app.Namespaces.Add(new NamespaceOptions { Name = id.GetString()!, Persisted = persisted });
                    namespaces.Add((id.GetString()!, item.Clone()));
                }
            }
        }

        try
        {
            apps.Add(app);
        }
        catch (InvalidOperationException ex)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, ex.Message, ex);
        }

        await RestResponses.WriteJsonAsync(context, StatusCodes.Status201Created, w =>
        {
            w.WriteStartObject();
            w.WriteString("appId", appId);
            w.WriteString("id", appId);
            w.WriteString("accountId", "tokenwire-sandbox");
            w.WriteString("status", "enabled");
            w.WriteStartArray("keys");
            foreach (var key in app.Keys)
            {
                var keyName = $"{appId}.{key.Id}";
                w.WriteStartObject();
                w.WriteString("id", key.Id);
                w.WriteString("value", key.Secret);
                w.WriteString("keyName", keyName);
                w.WriteString("keySecret", key.Secret);
                w.WriteString("keyStr", $"{keyName}:{key.Secret}");
                w.WriteString("capability", Capability.Parse(key.Capability).Json);
                w.WriteBoolean("revocableTokens", key.RevocableTokens);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("namespaces");
            foreach (var (_, raw) in namespaces)
            {
                raw.WriteTo(w);
            }

            w.WriteEndArray();
            w.WriteStartArray("channels");
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static IResult DeleteApp(HttpContext context, string appId, RestAuthentication authentication, AppRegistry apps, LiveConnections live)
    {
        var auth = authentication.Authenticate(context.Request);
        if (auth.App.Id != appId)
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Apps can only be deleted with one of their own keys");
        }

        apps.Remove(appId);

        // Its keys and tokens are gone, so its connections end too (ERROR: the SDK must not retry with them).
        foreach (var connection in live.ForApp(appId))
        {
            connection.Transport?.SendAndClose(new ProtocolMessage(ProtocolAction.Error) { Error = ErrorCodes.Create(ErrorCodes.InvalidCredentials, "The app was deleted") });
        }

        return Results.NoContent();
    }
}
