namespace TokenWire.Server.Configuration;

public sealed class NamespaceOptions
{
    public string Name { get; set; } = string.Empty;

    /// <summary>Persisted namespaces keep history for <see cref="HistoryOptions.PersistedRetention"/>.</summary>
    public bool Persisted { get; set; }

    /// <summary>Messages may be updated, deleted and appended to (Ably's <c>mutableMessages</c>); otherwise 93002.
    /// Such channels keep history as persisted ones do, as on Ably.</summary>
    public bool MutableMessages { get; set; }

    /// <summary>Ably's <c>pushEnabled</c> rule: devices may subscribe to these channels for push, and a message's
    /// <c>extras.push</c> notifies them. Unset: the app's <see cref="AppOptions.PushEnabled"/>.</summary>
    public bool? PushEnabled { get; set; }
}
