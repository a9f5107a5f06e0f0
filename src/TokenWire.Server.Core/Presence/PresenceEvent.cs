using TokenWire.Protocol;

namespace TokenWire.Server.Presence;

/// <summary>Presence events of one channel from one apply, in order, as every node's subscribers receive them.</summary>
public sealed record PresenceEvent(string ChannelKey, IReadOnlyList<PresenceMessage> Messages);
