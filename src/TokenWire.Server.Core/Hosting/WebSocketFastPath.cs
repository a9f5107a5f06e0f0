using System.IO.Pipelines;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Hosting;

/// <summary>
/// Realtime WebSockets below Kestrel's HTTP stack. An upgraded HTTP/1.1 request keeps its whole request state alive for
/// the connection's life (the HTTP connection, header collections, HttpContext, hosting's Activity and log scope:
/// ~7 KB of an idle connection's ~22 KB, docs/benchmarks.md). This connection middleware peeks at the first request,
/// consuming nothing; when it is exactly a realtime upgrade (<see cref="WebSocketUpgradeRequest"/>) it answers the 101
/// itself and serves the realtime endpoint (<see cref="RealtimeEndpoint.AcceptAsync"/>, then the transport) over the connection's own pipes. Everything else — REST,
/// comet, the demo, HTTP/2, a TLS handshake (when added outside TLS), anything malformed or too big — is handed to
/// Kestrel's HTTP stack untouched. Off with <c>TokenWire:Connection:WebSocketFastPath=false</c>; it also stands aside until
/// <see cref="TokenWireApplicationExtensions.MapTokenWire"/> maps the realtime endpoint, and when AllowedHosts
/// restricts the Host header (host filtering is HTTP middleware). What differs from the HTTP path: the 101 carries
/// no Date, Server or CORS headers (no browser reads them on an upgrade), and ASP.NET Core's request metrics do not
/// count these connections (Kestrel's connection metrics and TokenWire's own do).
/// </summary>
public sealed partial class WebSocketFastPath(IServiceProvider services, ILogger<WebSocketFastPath> logger)
{
    private WebSocketCreationOptions? _socketOptions;
    private RealtimeEndpoint? _endpoint;

    private RealtimeEndpoint Endpoint => _endpoint ??= services.GetRequiredService<RealtimeEndpoint>();

    /// <summary>Kestrel connection middleware for an endpoint of a server with <paramref name="limits"/>.</summary>
    public ConnectionDelegate Middleware(ConnectionDelegate next, KestrelServerLimits limits) => connection => OnConnectionAsync(connection, next, limits);

    /// <summary>
    /// Starts serving. The sockets have no keep-alive timer of their own: their streams send the pings for the node's
    /// heartbeat wheel (<see cref="DuplexPipeStream"/>, <see cref="RealtimeTransport"/>), at the interval and with the
    /// dead-peer timeout the HTTP path's sockets keep themselves alive with.
    /// </summary>
    internal void Activate()
    {
        _socketOptions = new WebSocketCreationOptions { IsServer = true, KeepAliveInterval = TimeSpan.Zero };
        Activated(logger);
    }

    private Task OnConnectionAsync(ConnectionContext connection, ConnectionDelegate next, KestrelServerLimits limits) =>
        _socketOptions is { } socketOptions ? ServeOrPassAsync(connection, next, limits, socketOptions) : next(connection);

    /// <summary>
    /// This state machine lives as long as the connection, so it holds only what it awaits the transport with: the
    /// request, the query and the admission live in <see cref="UpgradeAsync"/>, which has returned by then.
    /// </summary>
    private async Task ServeOrPassAsync(ConnectionContext connection, ConnectionDelegate next, KestrelServerLimits limits, WebSocketCreationOptions socketOptions)
    {
        var (decision, socket, transport) = await UpgradeAsync(connection, limits, socketOptions).ConfigureAwait(false);
        if (decision == UpgradeDecision.Decline)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        // NeedMore: timed out or gone before a whole request arrived, closed as Kestrel closes such a connection.
        using (socket)
        {
            if (transport is not null)
            {
                await transport.RunAsync(Endpoint.DrainToken(connection.Features), connection.ConnectionClosed).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Peeks at the request; when it is a realtime upgrade, answers the 101 and admits the connection (null when refused).</summary>
    private async Task<(UpgradeDecision Decision, WebSocket? Socket, RealtimeTransport? Transport)> UpgradeAsync(ConnectionContext connection, KestrelServerLimits limits, WebSocketCreationOptions socketOptions)
    {
        var (decision, request) = await PeekAsync(connection, limits).ConfigureAwait(false);
        if (decision != UpgradeDecision.Accept)
        {
            return (decision, null, null);
        }

        var query = new QueryCollection(QueryHelpers.ParseQuery(request.QueryString));
        await connection.Transport.Output.WriteAsync(request.SwitchingProtocols(), connection.ConnectionClosed).ConfigureAwait(false);
        var stream = new DuplexPipeStream(connection.Transport);
        var socket = WebSocket.CreateFromStream(stream, socketOptions);
        try
        {
            // The pipe stream ends a pending read when the socket aborts, so the transport's idle receive needs no token.
            var transport = await Endpoint.AcceptAsync(socket, query, Endpoint.DrainToken(connection.Features), connection.ConnectionClosed, abortEndsReceive: true, pinger: stream).ConfigureAwait(false);
            return (decision, socket, transport);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Accept with the request's header block consumed (bytes after it stay in the pipe), Decline with nothing consumed,
    /// or NeedMore when no whole request came in time: Kestrel's keep-alive timeout until the first byte, its request
    /// headers timeout after it, as its HTTP stack would allow.
    /// </summary>
    private async Task<(UpgradeDecision Decision, WebSocketUpgradeRequest Request)> PeekAsync(ConnectionContext connection, KestrelServerLimits limits)
    {
        var input = connection.Transport.Input;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed);
        timeout.CancelAfter(limits.KeepAliveTimeout);
        var started = false;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (UpgradeDecision.NeedMore, default);
            }

            var buffer = result.Buffer;
            var decision = WebSocketUpgradeRequest.Parse(buffer, out var request);
            if (decision == UpgradeDecision.Accept)
            {
                input.AdvanceTo(buffer.GetPosition(request.HeaderLength));
                return (decision, request);
            }

            if (decision == UpgradeDecision.Decline || result.IsCompleted || result.IsCanceled)
            {
                // Nothing consumed or examined: Kestrel's first read returns these bytes at once.
                input.AdvanceTo(buffer.Start);
                return (UpgradeDecision.Decline, default);
            }

            if (!started && !buffer.IsEmpty)
            {
                started = true;
                timeout.CancelAfter(limits.RequestHeadersTimeout);
            }

            // All examined, nothing consumed: the next read waits for more bytes.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Realtime WebSocket upgrades are served below Kestrel's HTTP stack (TokenWire:Connection:WebSocketFastPath)")]
    private static partial void Activated(ILogger logger);
}
