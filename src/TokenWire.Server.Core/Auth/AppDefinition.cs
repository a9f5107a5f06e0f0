namespace TokenWire.Server.Auth;

/// <summary>One application: its keys, channel rules and limits. Channels of different apps never meet.</summary>
public sealed class AppDefinition(
    string id,
    IReadOnlyDictionary<string, ApiKey> keys,
    IReadOnlySet<string> persistedNamespaces,
    int? maxMessageSize = null,
    int? maxPresenceMembers = null,
    IReadOnlySet<string>? mutableNamespaces = null)
{
    public string Id { get; } = id;

    /// <summary>The app's own message size limit, or null for the server-wide one.</summary>
    public int? MaxMessageSize { get; } = maxMessageSize;

    /// <summary>The app's own presence member limit per channel, or null for the server-wide one.</summary>
    public int? MaxPresenceMembers { get; } = maxPresenceMembers;

    /// <summary>Keys by key name (<c>appId.keyId</c>).</summary>
    public IReadOnlyDictionary<string, ApiKey> Keys { get; } = keys;

    public bool IsPersisted(string channelName) => InNamespace(channelName, persistedNamespaces);

    /// <summary>Channels whose messages may be updated, deleted and appended to (Ably's <c>mutableMessages</c> rule).</summary>
    public bool IsMutable(string channelName) => mutableNamespaces is not null && InNamespace(channelName, mutableNamespaces);

    private static bool InNamespace(string channelName, IReadOnlySet<string> namespaces)
    {
        var colon = channelName.IndexOf(':');
        return colon > 0 && namespaces.Contains(channelName[..colon]);
    }
}
