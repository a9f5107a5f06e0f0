using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Rest;

/// <summary>
/// Sandbox provisioning in the shape Ably's sandbox takes (reference §8): <c>POST /apps</c> with <c>keys</c>
/// (capability JSON strings), <c>namespaces</c> (<c>persisted</c>, <c>mutableMessages</c>, <c>pushEnabled</c>), <c>channels</c> (presence fixtures) and
/// <c>limits</c>; the answer lists <c>appId</c>, <c>accountId</c>, <c>keys</c> (<c>keyName</c>, <c>keySecret</c>,
/// <c>keyStr</c>, <c>capability</c>), <c>namespaces</c>, <c>channels</c> and where to connect (<c>endpoint</c>,
/// <c>port</c>, <c>tls</c>). <c>DELETE /apps/{appId}</c> (Basic auth with one of its keys) removes it.
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

    private static async Task CreateAppAsync(HttpContext context, AppRegistry apps, PresenceService presence, IOptions<TokenWireOptions> options)
    {
        var body = await RestBody.ReadJsonAsync(context.Request, options.Value.Limits.MaxFrameSize, context.RequestAborted);
        if (body.ValueKind is not (JsonValueKind.Object or JsonValueKind.Undefined))
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "App body must be a JSON object");
        }

        var appId = "sbx" + RandomNumberGenerator.GetString(Alphabet, 9);
        var app = new AppOptions { Id = appId };
        ApplyLimits(body, app);
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
                    var mutable = item.TryGetProperty("mutableMessages", out var m) && m.ValueKind == JsonValueKind.True;
                    var push = item.TryGetProperty("pushEnabled", out var pe) && pe.ValueKind == JsonValueKind.True;
                    app.Namespaces.Add(new NamespaceOptions { Name = id.GetString()!, Persisted = persisted, MutableMessages = mutable, PushEnabled = push });
                    namespaces.Add((id.GetString()!, item.Clone()));
                }
            }
        }

        var channels = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("channels", out var ch) && ch.ValueKind == JsonValueKind.Array
            ? ch.EnumerateArray().Select(c => c.Clone()).ToList()
            : [];
        AppDefinition definition;
        try
        {
            definition = apps.Add(app);
        }
        catch (InvalidOperationException ex)
        {
            throw new ProtocolException(ErrorCodes.BadRequest, ex.Message, ex);
        }

        try
        {
            await EnterFixturesAsync(definition, channels, presence, context.RequestAborted);
        }
        catch
        {
            apps.Remove(appId);
            throw;
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
            foreach (var channel in channels)
            {
                channel.WriteTo(w);
            }

            w.WriteEndArray();

            // Where clients of this app connect (the Ably suite's ABLY_LOCAL_SANDBOX_URL mode reads these): here.
            w.WriteString("endpoint", context.Request.Host.Host);
            w.WriteNumber("port", context.Request.Host.Port ?? (context.Request.IsHttps ? 443 : 80));
            w.WriteBoolean("tls", context.Request.IsHttps);
            w.WriteEndObject();
        });
    }

    /// <summary>Ably's app limits this server honours: <c>limits.presence.maxMembers</c> and <c>limits.message.maxSize</c>.</summary>
    private static void ApplyLimits(JsonElement body, AppOptions app)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("limits", out var limits) || limits.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        if (limits.TryGetProperty("presence", out var presence) && presence.ValueKind == JsonValueKind.Object
            && presence.TryGetProperty("maxMembers", out var maxMembers))
        {
            app.MaxPresenceMembers = PositiveInt(maxMembers, "limits.presence.maxMembers");
        }

        if (limits.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
            && message.TryGetProperty("maxSize", out var maxSize))
        {
            app.MaxMessageSize = PositiveInt(maxSize, "limits.message.maxSize");
        }
    }

    private static int PositiveInt(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n > 0
            ? n
            : throw new ProtocolException(ErrorCodes.InvalidRequestBody, $"{name} must be a positive integer");

    /// <summary>
    /// <c>channels[].presence</c>: members entered at creation (the Ably suite's <c>persisted:presence_fixtures</c>),
    /// with data and encoding kept exactly as given, all on one synthetic connection that never leaves.
    /// </summary>
    private static async Task EnterFixturesAsync(AppDefinition app, List<JsonElement> channels, PresenceService presence, CancellationToken cancellationToken)
    {
        var connectionId = "fixtures" + RandomNumberGenerator.GetString(Alphabet, 6);
        foreach (var channel in channels)
        {
            if (channel.ValueKind != JsonValueKind.Object || !channel.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String
                || !channel.TryGetProperty("presence", out var members) || members.ValueKind != JsonValueKind.Array)
            {
                continue;
            }

            var name = nameElement.GetString()!;
            ChannelNames.Validate(name);

            // The JSON codec's message reader gives the canonical payload (an outer base64 layer becomes bytes).
            var messages = ProtocolCodecs.For(WireFormat.Json).ReadMessages(new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes(members.GetRawText())));
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var changes = new List<PresenceChange>(messages.Count);
            for (var i = 0; i < messages.Count; i++)
            {
                var member = PresenceMessage.FromMessage(messages[i]);
                if (string.IsNullOrEmpty(member.ClientId))
                {
                    throw new ProtocolException(ErrorCodes.PresenceNoClientId, $"Presence fixture {i} of channel '{name}' has no clientId");
                }

                member.Action = PresenceAction.Enter;
                member.ConnectionId = connectionId;
                member.Id = $"{connectionId}:0:{i}";
                member.Timestamp = now;
                changes.Add(new PresenceChange(member, presence.FixtureOwner));
            }

            await presence.ApplyAsync(app, name, changes, cancellationToken);
        }
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
