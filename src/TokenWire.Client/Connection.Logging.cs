using Microsoft.Extensions.Logging;

namespace TokenWire.Client;

/// <summary>Connection log messages. Event ids 1-99.</summary>
public sealed partial class Connection
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connection state {Previous} -> {Current} ({Reason})")]
    private static partial void StateChange(ILogger logger, ConnectionState previous, ConnectionState current, string? reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connected as {ConnectionId} (resumed: {Resumed}, error: {Error})")]
    private static partial void Connected(ILogger logger, string connectionId, bool resumed, string? error);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "No activity from the server for {SilentMs} ms: dropping the transport and reconnecting")]
    private static partial void IdleTimeout(ILogger logger, long silentMs);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "The connection loop failed; the connection is now FAILED")]
    private static partial void LoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "In-band reauthorization failed: {Reason}")]
    private static partial void ReauthFailed(ILogger logger, string reason);
}
