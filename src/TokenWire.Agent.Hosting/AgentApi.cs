using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Channels;
using TokenWire.Server.Publishing;
using TokenWire.Server.Rest;

namespace TokenWire.Agent.Hosting;

/// <summary>
/// <c>POST /agent/prompts</c> <c>{ channel, prompt, responseId? }</c> → <c>202 { responseId }</c>. The request is
/// published on the agents' requests channel; an agent (in this process or another) streams the answer onto
/// <c>channel</c>. The caller must be allowed to publish on that channel.
/// </summary>
internal static class AgentApi
{
    /// <summary>Prompts are text for a model; this bounds one request, well under a message's size limit.</summary>
    private const int MaxPromptLength = 16_000;

    public static IEndpointRouteBuilder MapAgentApi(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/agent/prompts", PostPromptAsync);
        return routes;
    }

    private static async Task PostPromptAsync(HttpContext context, RestAuthentication authentication, ChannelPublisher publisher, IOptions<AgentOptions> agentOptions)
    {
        var auth = authentication.Authenticate(context.Request);
        JsonElement body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, AgentJsonContext.Default.JsonElement, context.RequestAborted);
        }
        catch (JsonException ex)
        {
            throw new ProtocolException(ErrorCodes.InvalidRequestBody, "Body must be JSON: { channel, prompt, responseId? }", ex);
        }

        string? Str(string name) => body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var channel = Str("channel");
        var prompt = Str("prompt");
        var responseId = Str("responseId") ?? "resp-" + Guid.NewGuid().ToString("N")[..16];
        if (string.IsNullOrWhiteSpace(prompt) || prompt.Length > MaxPromptLength)
        {
            throw new ProtocolException(ErrorCodes.InvalidParameterValue, $"prompt must be a non-empty string of at most {MaxPromptLength} characters");
        }

        ChannelNames.Validate(channel);
        if (!auth.Capability.Allows(channel!, ChannelOperation.Publish))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no publish capability on channel '{channel}'");
        }

        // Published with the server's authority: callers need rights on their channel, not on the requests channel.
        var system = auth with { Capability = Capability.All, ClientId = null, ExpiresAt = null };
        var request = new Message
        {
            Name = "prompt",
            Data = MessageData.FromText(JsonSerializer.Serialize(new AgentPrompt(channel!, prompt, responseId, auth.ClientId), AgentJsonContext.Default.AgentPrompt)),
            Encoding = "json",
            Id = "prompt:" + responseId,
        };
        await publisher.PublishAsync(system, agentOptions.Value.RequestsChannel, [request], connectionId: null, context.RequestAborted);
        await RestResponses.WriteJsonAsync(context, StatusCodes.Status202Accepted, w =>
        {
            w.WriteStartObject();
            w.WriteString("responseId", responseId);
            w.WriteEndObject();
        });
    }
}
