namespace TokenWire.Server.Auth;

/// <summary>One application: its keys and channel rules. Channels of different apps never meet.</summary>
public sealed class AppDefinition(string id, IReadOnlyDictionary<string, ApiKey> keys, IReadOnlySet<string> persistedNamespaces)
{
    public string Id { get; } = id;

    /// <summary>Keys by key name (<c>appId.keyId</c>).</summary>
    public IReadOnlyDictionary<string, ApiKey> Keys { get; } = keys;

    public bool IsPersisted(string channelName)
    {
        var colon = channelName.IndexOf(':');
        return colon > 0 && persistedNamespaces.Contains(channelName[..colon]);
    }
}
