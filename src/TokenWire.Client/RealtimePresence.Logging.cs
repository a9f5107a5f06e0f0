using Microsoft.Extensions.Logging;

namespace TokenWire.Client;

/// <summary>Presence log messages. Event ids 300-399.</summary>
public sealed partial class RealtimePresence
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Channel {Channel}: presence subscription buffer full ({Capacity}); event dropped")]
    private static partial void SubscriptionFull(ILogger logger, string channel, int capacity);

    [LoggerMessage(EventId = 301, Level = LogLevel.Error, Message = "Channel {Channel}: a presence handler threw; other handlers still run")]
    private static partial void HandlerFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Channel {Channel}: automatic re-enter of {ClientId} failed (spec RTP17e): {Reason}")]
    private static partial void ReenterFailed(ILogger logger, string channel, string? clientId, string reason);
}
