using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Engine;
using TokenWire.Server.Rest;

namespace TokenWire.Server.Hosting;

public static class TokenWireApplicationExtensions
{
    /// <summary>
    /// Maps the realtime endpoint at <c>/</c>, the REST API and health checks. What a plain HTTP <c>GET /</c> serves
    /// (a page, a line of text) is the host's choice, mapped after this call so WebSocket requests reach the realtime
    /// endpoint first.
    /// </summary>
    public static WebApplication MapTokenWire(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<TokenWireOptions>>().Value;
        if (options.Apps.Any(a => a.Id == DevelopmentApp.AppId && a.Keys.Any(k => k.Secret == "dev-root-secret")))
        {
            // Key names only: secrets never go to the logs, not even these public ones (README lists them).
            app.Logger.LogWarning("Development keys are active ({RootKeyName}, {SubscribeKeyName}; secrets in README.md). Configure TokenWire:Apps for anything but local development.", DevelopmentApp.RootKeyName, DevelopmentApp.SubscribeKeyName);
        }

        // The meters exist from the start (their observable gauges included), not from the first connection.
        app.Services.GetRequiredService<ConnectionMetrics>();
        app.Services.GetRequiredService<MessageMetrics>();
        app.Services.GetRequiredService<EngineMetrics>();

        // Sockets accepted here keep themselves alive, each with its own timer (Kestrel's upgrade stream gives the wheel
        // no way in); the fast path's are pinged by the node's heartbeat wheel, to the same rule.
        app.UseWebSockets(new WebSocketOptions
        {
            KeepAliveInterval = options.Connection.KeepAliveInterval,
            KeepAliveTimeout = options.Connection.KeepAliveTimeout,
        });
        if (options.Connection.WebSocketFastPath && AnyHostAllowed(app.Configuration))
        {
            app.Services.GetRequiredService<WebSocketFastPath>().Activate();
        }

        app.UseMiddleware<ApiRequestStats>();
        app.UseMiddleware<RestErrorMiddleware>();
        app.Use(async (context, next) =>
        {
            if (context.WebSockets.IsWebSocketRequest && context.Request.Path == "/")
            {
                await context.RequestServices.GetRequiredService<RealtimeEndpoint>().HandleAsync(context);
                return;
            }

            await next(context);
        });
        if (app.Configuration.GetSection(SandboxOptions.SectionName).Get<SandboxOptions>()?.Enabled == true)
        {
            app.Logger.LogWarning("SANDBOX MODE: POST /apps creates apps with full-capability keys for anyone who can reach this server. Use it only for test suites.");
            app.MapSandboxApi();
            app.MapStatsFixtures();
        }

        MapComet(app);
        app.MapHealthChecks("/health");
        app.MapAblyRest();
        app.MapPresenceApi();
        app.MapBatchApi();
        app.MapTokenApi();
        app.MapRevocationApi();
        app.MapStatsApi();
        app.MapPushApi();
        return app;
    }

    /// <summary>Host filtering (AllowedHosts) is HTTP middleware, so the fast path serves only servers without it.</summary>
    private static bool AnyHostAllowed(IConfiguration configuration) =>
        configuration["AllowedHosts"] is not { Length: > 0 } hosts || hosts.Split(';', StringSplitOptions.TrimEntries).Contains("*");

    /// <summary>The comet transport's endpoints (<see cref="CometEndpoint"/>); the path's key is the connection's.</summary>
    private static void MapComet(WebApplication app)
    {
        static CometEndpoint Endpoint(HttpContext context) => context.RequestServices.GetRequiredService<CometEndpoint>();
        app.MapGet("/comet/connect", context => Endpoint(context).ConnectAsync(context));
        app.MapGet("/comet/{key}/recv", (HttpContext context, string key) => Endpoint(context).ReceiveAsync(context, key));
        app.MapPost("/comet/{key}/send", (HttpContext context, string key) => Endpoint(context).SendAsync(context, key));
        app.MapMethods("/comet/{key}/close", ["GET", "POST"], (HttpContext context, string key) => Endpoint(context).EndAsync(context, key, close: true));
        app.MapMethods("/comet/{key}/disconnect", ["GET", "POST"], (HttpContext context, string key) => Endpoint(context).EndAsync(context, key, close: false));
    }
}
