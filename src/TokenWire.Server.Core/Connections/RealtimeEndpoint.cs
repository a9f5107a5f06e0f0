using System.Net.WebSockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Auth;
using TokenWire.Server.Engine;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>
/// The realtime WebSocket endpoint at <c>/</c> (reference §1.1): authenticates from the query string, resumes or
/// creates the connection, sends CONNECTED, then runs the transport until the socket ends.
/// </summary>
public sealed partial class RealtimeEndpoint(Authenticator authenticator, RealtimeServices services, IHostApplicationLifetime lifetime, ILogger<RealtimeEndpoint> logger)
{
    private const int SupersededKeyGraceMs = 1000;

    /// <summary>How long a refused connection waits for the client's half of the close handshake.</summary>
    private static readonly TimeSpan RefusalCloseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The protocol versions (<c>v</c>, spec RTN2f/CSV2) whose wire this server speaks: 6 (ably-js 2.20 onwards, this
    /// repository's client) and 5 (ably-js 2.17–2.19), which differs from 6 only in LiveObjects messages, not served
    /// here. Older versions carry messages differently (no <c>version</c> object before 4, no publish serials in ACKs
    /// before 5), so they are refused rather than half understood. Compared as strings, as the spec asks (CSV2e).
    /// </summary>
    private static readonly string[] SupportedVersions = ["5", "6"];

    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var requestedFormat = query["format"].ToString();
        WireFormat? format = requestedFormat switch
        {
            "msgpack" => WireFormat.MessagePack,
            "json" or "" => WireFormat.Json, // comet clients send none: JSON
            _ => null,
        };
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        if (format is null)
        {
            // Refused in JSON, the format any client can read.
            await RefuseAsync(socket, WireFormat.Json, ErrorCodes.Create(ErrorCodes.InvalidParameterValue, $"Unsupported format '{requestedFormat}'; use json or msgpack")).ConfigureAwait(false);
            return;
        }

        if (Refusal(query["v"].ToString()) is { } versionError)
        {
            ConnectRefused(logger, versionError.Code, versionError.Message);
            await RefuseAsync(socket, format.Value, versionError).ConfigureAwait(false);
            return;
        }

        // A stopping node drains once Kestrel asks its connections to close, which it does when it has stopped accepting
        // new ones: a client told to reconnect cannot land on this node again (a balancer's connect fails, and it picks
        // another). Until then new connections are served as usual and drained with the others. Servers without that
        // notice drain when the host starts stopping.
        var drainRequested = context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? lifetime.ApplicationStopping;
        if (drainRequested.IsCancellationRequested)
        {
            // Told what the node's connected clients are told (RealtimeTransport.Drain): the SDK retries, elsewhere if it can.
            await RefuseAsync(socket, format.Value, RealtimeTransport.ShuttingDown(), ProtocolAction.Disconnected, WebSocketCloseStatus.NormalClosure).ConfigureAwait(false);
            return;
        }

        await ConnectAsync(context, socket, format.Value, drainRequested).ConfigureAwait(false);
    }

    /// <summary>40017 unless <paramref name="version"/> is one of <see cref="SupportedVersions"/>.</summary>
    private static ErrorInfo? Refusal(string version) =>
        SupportedVersions.Contains(version, StringComparer.Ordinal) ? null
        : ErrorCodes.Create(
            ErrorCodes.UnsupportedProtocolVersion,
            version.Length == 0
                ? $"No protocol version given; connect with v={SupportedVersions[^1]}"
                : $"Unsupported protocol version '{version}'; this server speaks versions {string.Join(" and ", SupportedVersions)}");

    private async Task ConnectAsync(HttpContext context, WebSocket socket, WireFormat format, CancellationToken drainRequested)
    {
        var query = context.Request.Query;
        AuthContext auth;
        TimeSpan appendRollupWindow;
        try
        {
            appendRollupWindow = AppendRollup.ParseWindow(NullIfEmpty(query["appendRollupWindow"]));

            // The SDK sends access_token; the spec text says accessToken. Accept both.
            var token = NullIfEmpty(query["access_token"]) ?? NullIfEmpty(query["accessToken"]);
            auth = token is not null
                ? authenticator.AuthenticateToken(token, NullIfEmpty(query["clientId"]))
                : authenticator.Authenticate(query["key"], NullIfEmpty(query["clientId"]));
        }
        catch (ProtocolException ex)
        {
            ConnectRefused(logger, ex.Error.Code, ex.Error.Message);
            await RefuseAsync(socket, format, ex.Error).ConfigureAwait(false);
            return;
        }

        var echo = !string.Equals(query["echo"], "false", StringComparison.OrdinalIgnoreCase);
        var resumeKey = NullIfEmpty(query["resume"]) ?? NullIfEmpty(query["recover"]);
        RealtimeConnection connection;
        ErrorInfo? resumeError;
        try
        {
            (connection, resumeError) = await ResumeOrCreateAsync(resumeKey, auth, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            services.ConnectionMetrics.ResumeFailed(resumeKey);
            // The shared connection store (scale-out engine) is unreachable: neither resume nor a new connection can
            // be recorded. DISCONNECTED with a 5xxxx error makes the SDK retry later, keeping its resume key.
            LogConnectionStoreFailed(ex);
            await RefuseAsync(socket, format, ErrorCodes.Create(ErrorCodes.ServiceUnavailable, "Connection state store unavailable; retry"), ProtocolAction.Disconnected).ConfigureAwait(false);
            return;
        }

        services.ConnectionMetrics.Resume(resumeKey, resumed: resumeError is null);
        var heartbeats = string.Equals(query["heartbeats"], "true", StringComparison.OrdinalIgnoreCase);
        var transport = new RealtimeTransport(socket, format, echo, heartbeats, appendRollupWindow, connection, services);

        // Taking over from a transport the server still thinks is alive: end it, so one socket carries the connection.
        connection.Bind(transport)?.Abort();
        if (!services.Live.TryAdd(connection))
        {
            // DISCONNECTED, not ERROR: the limit clears as other connections leave, and the SDK retries by itself.
            connection.Unbind(transport, services.Time.GetUtcNow());
            var limit = services.Options.Limits.MaxConnectionsPerApp;
            ConnectionLimitReached(logger, auth.App.Id, limit);
            await RefuseAsync(socket, format, ErrorCodes.Create(ErrorCodes.AppConnectionLimit, $"Application connection limit exceeded ({limit} connections); retry later"), ProtocolAction.Disconnected).ConfigureAwait(false);
            return;
        }

        if (resumeError is not null || resumeKey is null)
        {
            services.Stats.For(auth.App.Id).Add(StatsCounter.ConnectionsOpened, 1);
        }

        try
        {
            await services.Connections.AddAsync(connection, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (connection.Unbind(transport, services.Time.GetUtcNow()))
            {
                services.Live.Remove(connection);
            }

            LogConnectionStoreFailed(ex);
            await RefuseAsync(socket, format, ErrorCodes.Create(ErrorCodes.ServiceUnavailable, "Connection state store unavailable; retry"), ProtocolAction.Disconnected).ConfigureAwait(false);
            return;
        }

        transport.Session.SendConnected(resumeError);
        Connected(logger, connection.Id, resumeKey is not null && resumeError is null, format);
        await transport.RunAsync(drainRequested, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task<(RealtimeConnection Connection, ErrorInfo? ResumeError)> ResumeOrCreateAsync(string? resumeKey, AuthContext auth, CancellationToken cancellationToken)
    {
        ErrorInfo? error = null;
        if (resumeKey is not null)
        {
            var (baseKey, generation) = ConnectionIds.ParseKey(resumeKey);
            var existing = await services.Connections.FindAsync(baseKey, cancellationToken).ConfigureAwait(false);
            if (existing is not null && existing.Auth.App == auth.App && existing.Auth.ClientId == auth.ClientId)
            {
                if (generation >= existing.Generation || await WaitUntilFreeAsync(existing, cancellationToken).ConfigureAwait(false))
                {
                    // A resume may bring a renewed token (after 40142): the connection continues with the new rights.
                    existing.Auth = auth;
                    existing.Generation = Math.Max(existing.Generation, generation) + 1;
                    return (existing, null);
                }

                // Two clients holding one key (a recovery key copied to a second tab, say) would otherwise take the
                // connection from each other forever: the one that resumed first keeps it, the other starts afresh.
                error = ErrorCodes.Create(ErrorCodes.InvalidConnectionKey, "Unable to recover connection: the connection key was superseded by a newer resume of this connection");
            }
            else
            {
                error = existing is null && await services.Connections.IsExpiredAsync(baseKey, cancellationToken).ConfigureAwait(false)
                    ? ErrorCodes.Create(ErrorCodes.ConnectionExpired, "Unable to recover connection: connection expired")
                    : ErrorCodes.Create(ErrorCodes.InvalidConnectionKey, "Unable to recover connection: invalid or unknown connection key");
            }
        }

        var id = ConnectionIds.NewConnectionId();
        return (new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), auth), error);
    }

    /// <summary>
    /// A superseded key may still resume while no transport carries the connection: the client that got the newer
    /// key may never have read it. The transport it lost can take a moment to be noticed, hence the short wait.
    /// </summary>
    private async Task<bool> WaitUntilFreeAsync(RealtimeConnection connection, CancellationToken cancellationToken)
    {
        if (connection.HeldElsewhere)
        {
            return false;
        }

        for (var waited = 0; connection.Transport is not null; waited += 20)
        {
            if (waited >= SupersededKeyGraceMs)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }

        return true;
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

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} connected (resumed: {Resumed}, format: {Format})")]
    private static partial void Connected(ILogger logger, string connectionId, bool resumed, WireFormat format);

    /// <summary>An outage is expected (and logged once by the engine): no warning and stack trace per refused client.</summary>
    private void LogConnectionStoreFailed(Exception exception)
    {
        if (exception is EngineUnavailableException unavailable)
        {
            ConnectionStoreUnavailable(logger, unavailable.Message);
        }
        else
        {
            ConnectionStoreFailed(logger, exception);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection refused: the connection state store failed")]
    private static partial void ConnectionStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection refused for now: {Reason}")]
    private static partial void ConnectionStoreUnavailable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection refused: app {AppId} is at its limit of {Limit} connections on this node")]
    private static partial void ConnectionLimitReached(ILogger logger, string appId, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection refused: {Code} {Reason}")]
    private static partial void ConnectRefused(ILogger logger, int code, string reason);
}
