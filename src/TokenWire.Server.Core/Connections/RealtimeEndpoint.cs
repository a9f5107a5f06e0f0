using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// The realtime WebSocket endpoint at <c>/</c> (reference §1.1): admits the connection (<see cref="ConnectionAdmission"/>),
/// sends CONNECTED, then runs the transport until the socket ends. Reached through Kestrel's HTTP stack
/// (<see cref="HandleAsync"/>) or, for a plain upgrade request, from below it (Hosting/WebSocketFastPath).
/// </summary>
public sealed class RealtimeEndpoint(ConnectionAdmission admission, RealtimeServices services, IHostApplicationLifetime lifetime)
{
    /// <summary>How long a refused connection waits for the client's half of the close handshake.</summary>
    private static readonly TimeSpan RefusalCloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The endpoint behind Kestrel's HTTP stack: a WebSocket request to <c>/</c>.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var drainRequested = DrainToken(context.Features);
        var transport = await AcceptAsync(socket, context.Request.Query, drainRequested, context.RequestAborted, abortEndsReceive: false).ConfigureAwait(false);
        if (transport is not null)
        {
            await transport.RunAsync(drainRequested, context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A stopping node drains once Kestrel asks its connections to close, which it does when it has stopped accepting
    /// new ones: a client told to reconnect cannot land on this node again (a balancer's connect fails, and it picks
    /// another). Until then new connections are served as usual and drained with the others. Servers without that
    /// notice drain when the host starts stopping. <paramref name="features"/>: the request's or the connection's.
    /// </summary>
    public CancellationToken DrainToken(IFeatureCollection features) =>
        features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? lifetime.ApplicationStopping;

    /// <summary>
    /// Everything after the upgrade up to the transport, whichever path accepted the socket (this endpoint behind
    /// Kestrel's HTTP stack, or the fast path below it): the format and version checks, the drain, admission and
    /// CONNECTED. Returns the transport for the caller to run (<see cref="RealtimeTransport.RunAsync"/>), or null when
    /// the connection was refused (the refusal has been sent). The caller awaits the transport itself, so no state
    /// machine of this method stays alive for the connection's life. <paramref name="query"/> is the upgrade request's
    /// query string, all a connect request is read from. <paramref name="abortEndsReceive"/>: see
    /// <see cref="RealtimeTransport"/>'s constructor, as is <paramref name="pinger"/>.
    /// </summary>
    public async Task<RealtimeTransport?> AcceptAsync(WebSocket socket, IQueryCollection query, CancellationToken drainRequested, CancellationToken aborted, bool abortEndsReceive, IWebSocketPinger? pinger = null)
    {
        var requestedFormat = query["format"].ToString();
        WireFormat? format = requestedFormat switch
        {
            "msgpack" => WireFormat.MessagePack,
            "json" or "" => WireFormat.Json,
            _ => null,
        };
        if (format is null)
        {
            // Refused in JSON, the format any client can read.
            await RefuseAsync(socket, WireFormat.Json, ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Unsupported format '{requestedFormat}'; use json or msgpack")).ConfigureAwait(false);
            return null;
        }

        if (admission.VersionRefusal(query["v"].ToString()) is { } versionError)
        {
            await RefuseAsync(socket, format.Value, versionError).ConfigureAwait(false);
            return null;
        }

        if (drainRequested.IsCancellationRequested)
        {
            // Told what the node's connected clients are told (RealtimeTransport.Drain): the SDK retries, elsewhere if it can.
            await RefuseAsync(socket, format.Value, RealtimeTransport.ShuttingDown(), ProtocolAction.Disconnected, WebSocketCloseStatus.NormalClosure).ConfigureAwait(false);
            return null;
        }

        var admitted = await admission.AdmitAsync(
            query,
            (connection, parameters) => new RealtimeTransport(socket, format.Value, parameters.Echo, parameters.Heartbeats, parameters.AppendRollupWindow, connection, services, abortEndsReceive, pinger),
            aborted).ConfigureAwait(false);
        if (admitted.Transport is not RealtimeTransport transport)
        {
            await RefuseAsync(socket, format.Value, admitted.Refusal!, admitted.RefusalAction).ConfigureAwait(false);
            return null;
        }

        transport.Session.SendConnected(admitted.ResumeError);
        return transport;
    }

    /// <summary>
    /// ERROR then close: the SDK treats a connection-level ERROR as fatal (or renews a token for 4014x). With
    /// DISCONNECTED and a 5xxxx error it retries instead.
    /// </summary>
    private static async Task RefuseAsync(WebSocket socket, WireFormat format, ErrorInfo error, ProtocolAction action = ProtocolAction.Error, WebSocketCloseStatus closeStatus = WebSocketCloseStatus.PolicyViolation)
    {
        var bytes = ProtocolCodecs.For(format).Encode(new ProtocolMessage(action) { Error = error });
        using var timeout = new CancellationTokenSource(RefusalCloseTimeout);
        try
        {
            await socket.SendAsync(bytes, format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
            await socket.CloseOutputAsync(closeStatus, null, timeout.Token).ConfigureAwait(false);

            // Until the client's Close: closing the connection with its frames unread would reset it, and a reset can
            // overtake the refusal in the client's buffer.
            var scratch = new byte[256];
            while ((await socket.ReceiveAsync(scratch.AsMemory(), timeout.Token).ConfigureAwait(false)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }
}
