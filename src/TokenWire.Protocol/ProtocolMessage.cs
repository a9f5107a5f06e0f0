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

    public int? Count
    {
        get => _rare?.Count;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Count = value;
            }
        }
    }

    public ErrorInfo? Error
    {
        get => _rare?.Error;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Error = value;
            }
        }
    }

    public string? Id
    {
        get => _rare?.Id;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Id = value;
            }
        }
    }

    public string? Channel { get; set; }

    public string? ChannelSerial { get; set; }

    public string? ConnectionId
    {
        get => _rare?.ConnectionId;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).ConnectionId = value;
            }
        }
    }

    public long? MsgSerial { get; set; }

    public long? Timestamp
    {
        get => _rare?.Timestamp;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Timestamp = value;
            }
        }
    }

    public IReadOnlyList<Message>? Messages { get; set; }

    public IReadOnlyList<PresenceMessage>? Presence { get; set; }

    public IReadOnlyList<Annotation>? Annotations
    {
        get => _rare?.Annotations;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Annotations = value;
            }
        }
    }

    /// <summary>AUTH's <c>auth.accessToken</c>.</summary>
    public string? AuthAccessToken
    {
        get => _rare?.AuthAccessToken;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).AuthAccessToken = value;
            }
        }
    }

    public ConnectionDetails? ConnectionDetails
    {
        get => _rare?.ConnectionDetails;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).ConnectionDetails = value;
            }
        }
    }

    public IReadOnlyDictionary<string, string>? Params
    {
        get => _rare?.Params;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Params = value;
            }
        }
    }

    public IReadOnlyList<PublishResult>? Res
    {
        get => _rare?.Res;
        set
        {
            if (value is not null || _rare is not null)
            {
                (_rare ??= new Rare()).Res = value;
            }
        }
    }

    public bool HasFlag(ProtocolFlags flag) => (Flags & flag) == flag;

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
