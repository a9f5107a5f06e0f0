namespace TokenWire.Protocol;

/// <summary>The Ably ProtocolMessage (spec TR4, reference §2.1). Empty fields are omitted on the wire.</summary>
public sealed class ProtocolMessage
{
    public ProtocolMessage()
    {
    }

    public ProtocolMessage(ProtocolAction action) => Action = action;

    public ProtocolAction Action { get; set; }

    public ProtocolFlags Flags { get; set; }

    public int? Count { get; set; }

    public ErrorInfo? Error { get; set; }

    public string? Id { get; set; }

    public string? Channel { get; set; }

    public string? ChannelSerial { get; set; }

    public string? ConnectionId { get; set; }

    public long? MsgSerial { get; set; }

    public long? Timestamp { get; set; }

    public IReadOnlyList<Message>? Messages { get; set; }

    public IReadOnlyList<PresenceMessage>? Presence { get; set; }

    public IReadOnlyList<Annotation>? Annotations { get; set; }

    /// <summary>AUTH's <c>auth.accessToken</c>.</summary>
    public string? AuthAccessToken { get; set; }

    public ConnectionDetails? ConnectionDetails { get; set; }

    public IReadOnlyDictionary<string, string>? Params { get; set; }

    public IReadOnlyList<PublishResult>? Res { get; set; }

    public bool HasFlag(ProtocolFlags flag) => (Flags & flag) == flag;

    public override string ToString() => $"{Action} channel={Channel} msgSerial={MsgSerial} messages={Messages?.Count ?? 0} presence={Presence?.Count ?? 0}";
}
