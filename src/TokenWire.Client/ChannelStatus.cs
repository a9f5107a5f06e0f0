namespace TokenWire.Client;

/// <summary><c>GET /channels/{name}</c> (Ably ChannelDetails).</summary>
public sealed record ChannelStatus(string ChannelId, bool IsActive, ChannelOccupancy Occupancy);

/// <summary>Occupancy metrics of a channel.</summary>
public sealed record ChannelOccupancy(
    int Connections,
    int PresenceConnections,
    int PresenceMembers,
    int PresenceSubscribers,
    int Publishers,
    int Subscribers);
