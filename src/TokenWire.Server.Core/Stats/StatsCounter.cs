namespace TokenWire.Server.Stats;

/// <summary>What a node counts per app between flushes; each is one leaf entry (<see cref="StatsCounters.Names"/>).</summary>
public enum StatsCounter
{
    InboundRealtimeMessagesCount,
    InboundRealtimeMessagesData,
    InboundRealtimePresenceCount,
    InboundRealtimePresenceData,
    InboundRestMessagesCount,
    InboundRestMessagesData,
    OutboundRealtimeMessagesCount,
    OutboundRealtimeMessagesData,
    OutboundRealtimePresenceCount,
    OutboundRealtimePresenceData,
    OutboundRestMessagesCount,
    OutboundRestMessagesData,
    OutboundRestPresenceCount,
    OutboundRestPresenceData,
    ConnectionsOpened,
    ApiRequestsSucceeded,
    ApiRequestsFailed,
    ApiRequestsRefused,
    TokenRequestsSucceeded,
    TokenRequestsFailed,
    TokenRequestsRefused,
}
