using TokenWire.Protocol;

namespace TokenWire.Server.Presence;

/// <summary>
/// One ENTER, UPDATE or LEAVE to apply. <see cref="Message"/> is complete (id, clientId, connectionId, timestamp).
/// <see cref="Owner"/> names the node-side holder of the connection; with <see cref="OnlyIfOwner"/> a LEAVE applies only
/// while that owner still holds the member (a delayed leave after a disconnect must not remove a member re-entered
/// since by the same connection resumed elsewhere).
/// </summary>
public sealed record PresenceChange(PresenceMessage Message, string Owner, bool OnlyIfOwner = false);
