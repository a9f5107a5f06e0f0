using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
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

    private static async Task CreateAppAsync(HttpContext context, AppRegistry apps)
    {
        JsonElement body;
        try
        {
            body = context.Request.ContentLength == 0
                ? default
                : await JsonSerializer.DeserializeAsync(context.Request.Body, TokenJsonContext.Default.JsonElement, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "App body must be JSON: " + ex.Message, ex);
        }

        var appId = "sbx" + RandomNumberGenerator.GetString(Alphabet, 9);
        var app = new AppOptions { Id = appId };
        var keysIn = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("keys", out var k) && k.ValueKind == JsonValueKind.Array
            ? k.EnumerateArray().ToList()
            : [default];
        for (var i = 0; i < keysIn.Count; i++)
        {
            var capability = keysIn[i].ValueKind == JsonValueKind.Object && keysIn[i].TryGetProperty("capability", out var c)
                ? c.ValueKind == JsonValueKind.String ? c.GetString()! : c.GetRawText()
                : """{"*":["*"]}""";
            app.Keys.Add(new KeyOptions { Id = "k" + i + RandomNumberGenerator.GetString(Alphabet, 5), Secret = RandomNumberGenerator.GetString(Alphabet, 32), Capability = capability });
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

    private static IResult DeleteApp(HttpContext context, string appId, RestAuthentication authentication, AppRegistry apps)
    {
        var auth = authentication.Authenticate(context.Request);
        if (auth.App.Id != appId)
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, "Apps can only be deleted with one of their own keys");
        }

        apps.Remove(appId);
        return Results.NoContent();
    }
}
