namespace TokenWire.Protocol;

/// <summary>The Ably ProtocolMessage (spec TR4, reference §2.1). Empty fields are omitted on the wire.</summary>
/// <remarks>
/// Every publish decodes one, so the fields a MESSAGE or PRESENCE from a client carries are its own and the others
/// (ACK, NACK, CONNECTED, AUTH, ERROR fields) live in an object made when one of them is first set to a value (a null
/// set makes none): 80 bytes a publish instead of 160.
/// </remarks>
public sealed class ProtocolMessage
{
    private Rare? _rare;

    public ProtocolMessage()
    {
    }

    public ProtocolMessage(ProtocolAction action) => Action = action;

    public ProtocolAction Action { get; set; }

    public ProtocolFlags Flags { get; set; }

    public int? Count { get => _rare?.Count; set => RareFor(value)?.Count = value; }

    public ErrorInfo? Error { get => _rare?.Error; set => RareFor(value)?.Error = value; }

    public string? Id { get => _rare?.Id; set => RareFor(value)?.Id = value; }

    public string? Channel { get; set; }

    public string? ChannelSerial { get; set; }

    public string? ConnectionId { get => _rare?.ConnectionId; set => RareFor(value)?.ConnectionId = value; }

    public long? MsgSerial { get; set; }

    public long? Timestamp { get => _rare?.Timestamp; set => RareFor(value)?.Timestamp = value; }

    public IReadOnlyList<Message>? Messages { get; set; }

    public IReadOnlyList<PresenceMessage>? Presence { get; set; }

    public IReadOnlyList<Annotation>? Annotations { get => _rare?.Annotations; set => RareFor(value)?.Annotations = value; }

    /// <summary>AUTH's <c>auth.accessToken</c>.</summary>
    public string? AuthAccessToken { get => _rare?.AuthAccessToken; set => RareFor(value)?.AuthAccessToken = value; }

    public ConnectionDetails? ConnectionDetails { get => _rare?.ConnectionDetails; set => RareFor(value)?.ConnectionDetails = value; }

    public IReadOnlyDictionary<string, string>? Params { get => _rare?.Params; set => RareFor(value)?.Params = value; }

    public IReadOnlyList<PublishResult>? Res { get => _rare?.Res; set => RareFor(value)?.Res = value; }

    public bool HasFlag(ProtocolFlags flag) => (Flags & flag) == flag;

    /// <summary>Where a rare field's value goes: made for a value, never for a null (which leaves nothing to clear).</summary>
    private Rare? RareFor<T>(T value) => value is not null ? _rare ??= new Rare() : _rare;

    public override string ToString() => $"{Action} channel={Channel} msgSerial={MsgSerial} messages={Messages?.Count ?? 0} presence={Presence?.Count ?? 0}";

    private sealed class Rare
    {
        public int? Count;
        public ErrorInfo? Error;
        public string? Id;
        public string? ConnectionId;
        public long? Timestamp;
        public IReadOnlyList<Annotation>? Annotations;
        public string? AuthAccessToken;
        public ConnectionDetails? ConnectionDetails;
        public IReadOnlyDictionary<string, string>? Params;
        public IReadOnlyList<PublishResult>? Res;
    }
}
