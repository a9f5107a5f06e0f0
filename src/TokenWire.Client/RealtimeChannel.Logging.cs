using Microsoft.Extensions.Logging;

namespace TokenWire.Client;

/// <summary>Channel log messages. Event ids 200-299.</summary>
public sealed partial class RealtimeChannel
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "Channel {Channel} state {Previous} -> {Current} ({Reason})")]
    private static partial void StateChange(ILogger logger, string channel, ChannelState previous, ChannelState current, string? reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Channel {Channel}: MESSAGE, PRESENCE or ANNOTATION dropped because the channel is {State} (spec RTL17)")]
    private static partial void DroppedNotAttached(ILogger logger, string channel, ChannelState state);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Channel {Channel}: subscription buffer full ({Capacity}); message dropped")]
    private static partial void SubscriptionFull(ILogger logger, string channel, int capacity);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Channel {Channel}: implicit attach on subscribe failed: {Reason}")]
    private static partial void ImplicitAttachFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Error, Message = "Channel {Channel}: a subscription handler threw; other handlers still run")]
    private static partial void HandlerFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Channel {Channel}: {Reason}; re-attaching from the last message decoded (spec RTL18)")]
    private static partial void DeltaDecodeFailed(ILogger logger, string channel, string reason);
}
