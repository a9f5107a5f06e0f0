using Microsoft.Extensions.Logging;

namespace TokenWire.Client;

/// <summary>Annotation log messages. Event ids 400-449.</summary>
public sealed partial class RealtimeAnnotations
{
    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "Channel {Channel}: annotation subscription buffer full ({Capacity}); annotation dropped")]
    private static partial void SubscriptionFull(ILogger logger, string channel, int capacity);

    [LoggerMessage(EventId = 401, Level = LogLevel.Error, Message = "Channel {Channel}: an annotation handler threw; other handlers still run")]
    private static partial void HandlerFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "Channel {Channel}: attached without the annotation_subscribe mode, so its annotation subscribers receive nothing (request ChannelModes.AnnotationSubscribe)")]
    private static partial void ModeMissing(ILogger logger, string channel);
}
