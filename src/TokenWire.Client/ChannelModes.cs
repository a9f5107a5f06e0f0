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

    /// <summary>Publish and delete annotations (<c>annotation_publish</c>).</summary>
    AnnotationPublish = ProtocolFlags.AnnotationPublish,

    /// <summary>Receive raw annotations (<c>annotation_subscribe</c>); summaries reach message subscribers without it.</summary>
    AnnotationSubscribe = ProtocolFlags.AnnotationSubscribe,
}
