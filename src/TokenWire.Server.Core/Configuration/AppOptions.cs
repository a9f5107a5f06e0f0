namespace TokenWire.Server.Configuration;

public sealed class AppOptions
{
    public string Id { get; set; } = string.Empty;

    public List<KeyOptions> Keys { get; set; } = [];

    /// <summary>Channel rules by namespace (the part of a channel name before the first <c>:</c>).</summary>
    public List<NamespaceOptions> Namespaces { get; set; } = [];

    /// <summary>The <c>pushEnabled</c> rule of channels whose namespace does not set it (off, as on Ably, where push
    /// is enabled per namespace; the development app turns it on for every channel).</summary>
    public bool PushEnabled { get; set; }

    /// <summary>This app's <c>maxMessageSize</c> (bytes), instead of <see cref="LimitOptions.MaxMessageSize"/>; at most
    /// <see cref="LimitOptions.MaxFrameSize"/>, since a message must fit in a frame.</summary>
    public int? MaxMessageSize { get; set; }

    /// <summary>This app's presence members per channel, instead of <see cref="LimitOptions.MaxPresenceMembers"/>.</summary>
    public int? MaxPresenceMembers { get; set; }
}
