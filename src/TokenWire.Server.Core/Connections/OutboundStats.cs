using TokenWire.Protocol;
using TokenWire.Server.Fanout;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>What a transport counts for <c>GET /stats</c> as it queues a delivery, whichever transport it is.</summary>
internal static class OutboundStats
{
    /// <summary>A control frame: only MESSAGE, PRESENCE and SYNC frames carry messages that count.</summary>
    public static void Count(StatsCounters stats, EncodedFrame frame, WireFormat format)
    {
        var message = frame.Message;
        if (message.Action == ProtocolAction.Message && message.Messages is { Count: > 0 } messages)
        {
            stats.Add(StatsCounter.OutboundRealtimeMessagesCount, messages.Count, StatsCounter.OutboundRealtimeMessagesData, frame.GetBytes(format).Length);
        }
        else if (message.Action is ProtocolAction.Presence or ProtocolAction.Sync && message.Presence is { Count: > 0 } members)
        {
            stats.Add(StatsCounter.OutboundRealtimePresenceCount, members.Count, StatsCounter.OutboundRealtimePresenceData, frame.GetBytes(format).Length);
        }
    }

    /// <summary>Outbound data is the batch's queued size (its shared frame, already encoded): one add per delivery.</summary>
    public static void Count(StatsCounters stats, MessageBatch batch, WireFormat format) =>
        stats.Add(StatsCounter.OutboundRealtimeMessagesCount, batch.Messages.Length, StatsCounter.OutboundRealtimeMessagesData, batch.GetQueuedSize(format));
}
