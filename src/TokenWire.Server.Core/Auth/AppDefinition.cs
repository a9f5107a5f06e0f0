using TokenWire.Protocol;

namespace TokenWire.Server.Auth;

/// <summary>One application: its keys, channel rules and limits. Channels of different apps never meet.</summary>
public sealed class AppDefinition(
    string id,
    IReadOnlyDictionary<string, ApiKey> keys,
    IReadOnlySet<string> persistedNamespaces,
    int maxMessageSize,
    int maxPresenceMembers,
    IReadOnlySet<string>? mutableNamespaces = null,
    IReadOnlyDictionary<string, bool>? pushNamespaces = null,
    bool pushEnabled = false)
{
    public string Id { get; } = id;

    /// <summary>The app's <c>maxMessageSize</c> (bytes): its own, or the server-wide one (resolved by <see cref="AppRegistry"/>).</summary>
    public int MaxMessageSize { get; } = maxMessageSize;

    /// <summary>The app's presence member limit per channel: its own, or the server-wide one.</summary>
    public int MaxPresenceMembers { get; } = maxPresenceMembers;

    /// <summary>Keys by key name (<c>appId.keyId</c>).</summary>
    public IReadOnlyDictionary<string, ApiKey> Keys { get; } = keys;

    /// <summary>Refuses (40009) a message, presence item or operation larger than <see cref="MaxMessageSize"/>.</summary>
    public void EnsureWithinMessageSize(long size, string subject = "Message")
    {
        if (size > MaxMessageSize)
        {
            throw new ProtocolException(ErrorCodes.MessageTooLarge, $"{subject} size {size} exceeds the maximum of {MaxMessageSize} bytes");
        }
    }

    public bool IsPersisted(string channelName) => InNamespace(channelName, persistedNamespaces);

    /// <summary>Channels whose messages may be updated, deleted and appended to (Ably's <c>mutableMessages</c> rule).</summary>
    public bool IsMutable(string channelName) => mutableNamespaces is not null && InNamespace(channelName, mutableNamespaces);

    /// <summary>Channels that take push subscriptions and notify them (Ably's <c>pushEnabled</c> rule): the namespace's rule, else the app's.</summary>
    public bool IsPushEnabled(string channelName)
    {
        var colon = channelName.IndexOf(':');
        return colon > 0 && pushNamespaces is not null && pushNamespaces.TryGetValue(channelName[..colon], out var enabled) ? enabled : pushEnabled;
    }

    private static bool InNamespace(string channelName, IReadOnlySet<string> namespaces)
    {
        var colon = channelName.IndexOf(':');
        return colon > 0 && namespaces.Contains(channelName[..colon]);
    }
}
