using TokenWire.Protocol;
using TokenWire.Server.Auth;

namespace TokenWire.Server.Connections;

/// <summary>The channel modes an ATTACH is granted: what the client asked for, within what its capability permits.</summary>
internal static class AttachModes
{
    /// <summary>Modes granted when the client requests none: everything but annotation subscribe and objects, as Ably does.</summary>
    /// <remarks>ANNOTATION_PUBLISH is in the default set as in Ably (the ably-js suite expects it), still subject to capability.</remarks>
    public const ProtocolFlags Default =
        ProtocolFlags.Publish | ProtocolFlags.Subscribe | ProtocolFlags.Presence | ProtocolFlags.PresenceSubscribe | ProtocolFlags.AnnotationPublish;

    /// <summary>The requested modes (the default set when none) that <paramref name="operations"/> permit.</summary>
    public static ProtocolFlags Grant(ProtocolFlags requested, ChannelOperation operations) =>
        (requested == ProtocolFlags.None ? Default : requested) & Permitted(operations);

    /// <summary>The modes a capability's operations allow on a channel.</summary>
    public static ProtocolFlags Permitted(ChannelOperation operations)
    {
        var modes = ProtocolFlags.None;
        if ((operations & ChannelOperation.Publish) != 0)
        {
            modes |= ProtocolFlags.Publish;
        }

        if ((operations & ChannelOperation.Subscribe) != 0)
        {
            modes |= ProtocolFlags.Subscribe | ProtocolFlags.PresenceSubscribe;
        }

        if ((operations & ChannelOperation.Presence) != 0)
        {
            modes |= ProtocolFlags.Presence;
        }

        if ((operations & ChannelOperation.AnnotationPublish) != 0)
        {
            modes |= ProtocolFlags.AnnotationPublish;
        }

        if ((operations & ChannelOperation.AnnotationSubscribe) != 0)
        {
            modes |= ProtocolFlags.AnnotationSubscribe;
        }

        if ((operations & ChannelOperation.ObjectPublish) != 0)
        {
            modes |= ProtocolFlags.ObjectPublish;
        }

        if ((operations & ChannelOperation.ObjectSubscribe) != 0)
        {
            modes |= ProtocolFlags.ObjectSubscribe;
        }

        return modes;
    }
}
