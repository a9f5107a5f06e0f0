using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Agent;
using TokenWire.Agent.Hosting;
using TokenWire.Agent.Simulation;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Rest;

namespace TokenWire.Server.Demo;

/// <summary>
/// What the demo pages need without holding a key: <c>GET /demo/token?channel=ai-transport-…</c> (or
/// <c>mutable:ai-chat-…</c> for the useChat page; the SDK's
/// <c>authUrl</c>) issues a token for that one channel (<c>subscribe</c>, <c>history</c>, <c>publish</c>), and
/// <c>GET /demo/prompts</c> lists the prompts the simulated model answers. Anyone who can reach the server can get such
/// a token, so the endpoints exist only when <c>TokenWire:Demo:Enabled</c> (on in Development).
/// </summary>
public static class DemoApi
{
    public const string ChannelPrefix = "ai-transport-";

    /// <summary>The useChat page's sessions: the AI Transport SDK appends, so they live in the mutable namespace.</summary>
    public const string ChatChannelPrefix = "mutable:ai-chat-";

    /// <summary>Long enough for a session; the SDK asks the authUrl again when it expires.</summary>
    private static readonly long TokenTtlMs = (long)TimeSpan.FromHours(1).TotalMilliseconds;

    public static IEndpointRouteBuilder MapDemoApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/demo/token", IssueToken);
        routes.MapGet("/demo/prompts", (HttpContext context) => RestResponses.WriteJsonAsync(context, 200, w =>
        {
            w.WriteStartArray();
            foreach (var prompt in SimulatedAnswers.KnownPrompts)
            {
                w.WriteStringValue(prompt);
            }

            w.WriteEndArray();
        }));
        return routes;
    }

    private static Task IssueToken(HttpContext context, TokenService tokens, AppRegistry apps, IOptions<AgentOptions> agentOptions, IOptions<TokenWireOptions> options)
    {
        var channel = context.Request.Query["channel"].ToString();
        var id = channel.StartsWith(ChannelPrefix, StringComparison.Ordinal) ? channel[ChannelPrefix.Length..]
            : channel.StartsWith(ChatChannelPrefix, StringComparison.Ordinal) ? channel[ChatChannelPrefix.Length..]
            : null;
        if (id is not { Length: > 0 } || channel.Length > 200 || id.Contains(':') || id.Contains('*'))
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"channel must be a session channel named {ChannelPrefix}<id> or {ChatChannelPrefix}<id>");
        }

        var keyText = AgentConnectionSettings.ResolveKey(agentOptions.Value, options.Value);
        if (keyText is null || !ApiKey.TrySplit(keyText, out var keyName, out _) || apps.FindKey(keyName) is not { } key)
        {
            throw new ProtocolException(ErrorCodes.Create(ErrorCodes.ServiceUnavailable, "No key is configured to issue demo tokens"));
        }

        var capability = JsonSerializer.Serialize(new Dictionary<string, string[]> { [channel] = ["history", "publish", "subscribe"] }, DemoJsonContext.Default.DictionaryStringStringArray);
        var details = tokens.Issue(key, TokenTtlMs, capability, clientId: "viewer-" + Guid.NewGuid().ToString("N")[..8]);
        context.Response.Headers.CacheControl = "no-store";
        return RestResponses.WriteJsonAsync(context, 200, w => TokenJson.Write(w, details));
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string[]>))]
internal sealed partial class DemoJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
