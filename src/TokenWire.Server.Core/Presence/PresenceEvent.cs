using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Presence;

/// <summary>Presence events of one channel from one apply, in order, as every node's subscribers receive them.</summary>
public sealed record PresenceEvent(ChannelKey Channel, IReadOnlyList<PresenceMessage> Messages);
