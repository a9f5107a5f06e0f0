namespace TokenWire.Server.Channels;

/// <summary>Channels are scoped by app: the engines key them as <c>appId:channelName</c> (app ids have no colon).</summary>
public static class ChannelKeys
{
    public static string For(string appId, string channelName) => string.Concat(appId, ":", channelName);

    public static string ChannelName(string channelKey) => channelKey[(channelKey.IndexOf(':') + 1)..];
}
