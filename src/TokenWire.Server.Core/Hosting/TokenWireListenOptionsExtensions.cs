using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Hosting;

public static class TokenWireListenOptionsExtensions
{
    /// <summary>
    /// Serves realtime WebSocket upgrades on this endpoint below ASP.NET Core's HTTP stack (<see cref="WebSocketFastPath"/>),
    /// unless <c>TokenWire:Connection:WebSocketFastPath</c> is false. Call it from
    /// <c>ConfigureEndpointDefaults</c> for every endpoint (the host's own choice, since Kestrel keeps one such callback),
    /// or per endpoint after <c>UseHttps</c> to serve upgrades inside TLS.
    /// </summary>
    public static ListenOptions UseTokenWireWebSocketFastPath(this ListenOptions listen)
    {
        var services = listen.ApplicationServices;
        if (services.GetRequiredService<IOptions<TokenWireOptions>>().Value.Connection.WebSocketFastPath)
        {
            var fastPath = services.GetRequiredService<WebSocketFastPath>();
            var limits = listen.KestrelServerOptions.Limits;
            listen.Use(next => fastPath.Middleware(next, limits));
        }

        return listen;
    }
}
