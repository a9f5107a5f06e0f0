namespace TokenWire.Server.Engine;

/// <summary>
/// One app's channel: what every engine keys a channel's log, delivery and presence by. Channels are scoped by app,
/// so two apps may use the same name. <see cref="ToString"/> is the stored form <c>appId:channelName</c> (Redis keys
/// and pub/sub names); app ids have no colon, which is what lets <see cref="Parse"/> read it back.
/// </summary>
public readonly record struct ChannelKey(string AppId, string Name)
{
    public override string ToString() => string.Concat(AppId, ":", Name);

    /// <summary>Reads <see cref="ToString"/>'s form back, for an engine that lists channel keys it stored.</summary>
    public static ChannelKey Parse(string stored)
    {
        var colon = stored.IndexOf(':');
        if (colon <= 0)
        {
            throw new FormatException($"'{stored}' is not a channel key (appId:channelName)");
        }

        return new ChannelKey(stored[..colon], stored[(colon + 1)..]);
    }
}
