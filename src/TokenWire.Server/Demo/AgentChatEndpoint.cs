using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using TokenWire.Agent;
using TokenWire.AITransport;
using TokenWire.AITransport.Hosting;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Rest;

namespace TokenWire.Server.Demo;

/// <summary>
/// <c>POST /agent/chat</c>: the built-in AI Transport agent (the configured model, the simulated one by default), for
/// the stock <c>createChatTransport(session, { api: '/agent/chat' })</c>. Open like the demo's other endpoints when
/// <c>TokenWire:Demo:Enabled</c> (on in Development); otherwise the caller authenticates as on the REST API (Basic
/// key or Bearer token) and needs publish rights on the session's channel.
/// </summary>
public static class AgentChatEndpoint
{
    public const string Route = "/agent/chat";

    public static WebApplication MapTokenWireAgentChat(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Enabled)
        {
            return app;
        }

        var open = app.Configuration.GetSection(DemoOptions.SectionName).Get<DemoOptions>()?.Enabled ?? app.Environment.IsDevelopment();
        app.MapAITransportAgent(Route, open ? null : Authorize);
        return app;
    }

    private static ValueTask Authorize(HttpContext context, AITransportInvocation invocation)
    {
        var auth = context.RequestServices.GetRequiredService<RestAuthentication>().Authenticate(context.Request);
        if (!auth.Capability.Allows(invocation.SessionName, ChannelOperation.Publish))
        {
            throw new ProtocolException(ErrorCodes.OperationNotPermitted, $"Permission denied: no publish capability on channel '{invocation.SessionName}'");
        }

        return ValueTask.CompletedTask;
    }
}
