using System.Net.WebSockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Connections;

/// <summary>
/// The realtime WebSocket endpoint at <c>/</c> (reference §1.1): authenticates from the query string, resumes or
/// creates the connection, sends CONNECTED, then runs the transport until the socket ends.
/// </summary>
public sealed partial class RealtimeEndpoint(Authenticator authenticator, RealtimeServices services, IHostApplicationLifetime lifetime, ILogger<RealtimeEndpoint> logger)
{
    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var format = query["format"].ToString() switch
        {
            "msgpack" => WireFormat.MessagePack,
            _ => WireFormat.Json,
        };
        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);

        AuthContext auth;
        try
        {
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
        var (connection, resumeError) = ResumeOrCreate(resumeKey, auth);
        var transport = new RealtimeTransport(socket, format, echo, connection, services);

        // Taking over from a transport the server still thinks is alive: end it, so one socket carries the connection.
        connection.Bind(transport)?.Abort();
        transport.SendConnected(resumeError);
        Connected(logger, connection.Id, resumeKey is not null && resumeError is null, format);
        await transport.RunAsync(lifetime.ApplicationStopping).ConfigureAwait(false);
    }

    private (RealtimeConnection Connection, ErrorInfo? ResumeError) ResumeOrCreate(string? resumeKey, AuthContext auth)
    {
        ErrorInfo? error = null;
        if (resumeKey is not null)
        {
            var existing = services.Connections.Find(resumeKey);
            if (existing is not null && existing.Auth.App == auth.App && existing.Auth.ClientId == auth.ClientId)
            {
                // A resume may bring a renewed token (after 40142): the connection continues with the new rights.
                existing.Auth = auth;
                return (existing, null);
            }

            error = existing is null && services.Connections.IsExpired(resumeKey)
                ? ErrorCodes.Create(ErrorCodes.ConnectionExpired, "Unable to recover connection: connection expired")
                : ErrorCodes.Create(ErrorCodes.InvalidConnectionKey, $"Unable to recover connection: invalid or unknown connection key");
        }

        var id = ConnectionIds.NewConnectionId();
        var connection = new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), auth);
        services.Connections.Add(connection);
        return (connection, error);
    }

    /// <summary>ERROR then close: the SDK treats a connection-level ERROR as fatal (or renews a token for 4014x).</summary>
    private static async Task RefuseAsync(WebSocket socket, WireFormat format, ErrorInfo error)
    {
        var bytes = ProtocolCodecs.For(format).Encode(new ProtocolMessage(ProtocolAction.Error) { Error = error });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await socket.SendAsync(bytes, format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text, true, timeout.Token).ConfigureAwait(false);
            await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
            socket.Abort();
        }
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} connected (resumed: {Resumed}, format: {Format})")]
    private static partial void Connected(ILogger logger, string connectionId, bool resumed, WireFormat format);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection refused: {Code} {Reason}")]
    private static partial void ConnectRefused(ILogger logger, int code, string reason);
}
