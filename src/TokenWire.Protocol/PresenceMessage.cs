namespace TokenWire.Protocol;

/// <summary>
/// An Ably PresenceMessage (spec TP3, reference §3.2). Its wire fields are a subset of <see cref="Message"/>'s and
/// its payload follows the same encoding rules, so the codecs read and write it through the message routines.
/// </summary>
public sealed class PresenceMessage
{
    public string? Id { get; set; }

    public PresenceAction Action { get; set; }

    public string? ClientId { get; set; }

    public string? ConnectionId { get; set; }

    public MessageData Data { get; set; }

    /// <summary>The transform chain still applied to <see cref="Data"/>, without the transport's outer base64 layer.</summary>
    public string? Encoding { get; set; }

    public JsonPayload? Extras { get; set; }

    public long? Timestamp { get; set; }

    /// <summary>Size as counted against <c>maxMessageSize</c>: clientId, extras JSON and data.</summary>
    public int Size => (ClientId is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(ClientId)) + (Extras?.Utf8Json.Length ?? 0) + Data.Size;

    /// <summary>The member this message is about (spec TP3h): one per clientId per connection.</summary>
    public string MemberKey => string.Concat(ClientId, ":", ConnectionId);

    public PresenceMessage Clone() => (PresenceMessage)MemberwiseClone();

    /// <summary>The same fields as a <see cref="Message"/> (action as its integer), for logs and codecs that store messages.</summary>
    public static PresenceMessage FromMessage(Message message) => new()
    {
        Id = message.Id,
        Action = (PresenceAction)(message.Action ?? 0),
        ClientId = message.ClientId,
        ConnectionId = message.ConnectionId,
        Data = message.Data,
        Encoding = message.Encoding,
        Extras = message.Extras,
        Timestamp = message.Timestamp,
    };

    /// <summary>The same fields as a <see cref="Message"/> (action as its integer), for logs and codecs that store messages.</summary>
    public Message ToMessage() => new()
    {
        Id = Id,
        Action = (int)Action,
        ClientId = ClientId,
        ConnectionId = ConnectionId,
        Data = Data,
        Encoding = Encoding,
        Extras = Extras,
        Timestamp = Timestamp,
    };
}
