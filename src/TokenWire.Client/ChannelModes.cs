using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Channel modes requested in ATTACH (spec TB2d); the server grants the subset the key allows.</summary>
[Flags]
public enum ChannelModes
{
    None = 0,
    Presence = ProtocolFlags.Presence,
    Publish = ProtocolFlags.Publish,
    Subscribe = ProtocolFlags.Subscribe,
    PresenceSubscribe = ProtocolFlags.PresenceSubscribe,
}
