using Microsoft.Extensions.Logging;

namespace TokenWire.Server.Connections;

/// <summary>
/// Keeping the connection's resumable state in the <see cref="IConnectionStore"/> as the transport ends. A store that
/// cannot be reached is logged, not thrown: the socket is gone either way, and a shared store catches up on its own.
/// </summary>
public sealed partial class RealtimeTransport
{
    private async Task MarkDisconnectedAsync(DateTimeOffset now)
    {
        try
        {
            await _services.Connections.MarkDisconnectedAsync(Connection, now).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConnectionStateFailed(_services.Logger, ex, ConnectionId);
        }
    }

    private async Task RemoveConnectionAsync()
    {
        try
        {
            await _services.Connections.RemoveAsync(Connection).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            ConnectionStateFailed(_services.Logger, ex, ConnectionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: updating the connection state store failed")]
    private static partial void ConnectionStateFailed(ILogger logger, Exception exception, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: attach to {Channel} failed; the channel was told to retry")]
    private static partial void AttachFailed(ILogger logger, Exception exception, string connectionId, string channel);
}
