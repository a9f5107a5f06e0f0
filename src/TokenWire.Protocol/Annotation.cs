namespace TokenWire.Protocol;

/// <summary>
/// An Ably Annotation (spec TAN2, reference §3.3): a reaction, flag or tag on a message, named by the message's
/// <see cref="MessageSerial"/>. On the wire it is a Message's fields plus <c>messageSerial</c>, <c>type</c> and
/// <c>count</c>, so the codecs read and write it through their message code.
/// </summary>
public sealed class Annotation
{
    public string? Id { get; set; }

    /// <summary>0 <c>annotation.create</c>, 1 <c>annotation.delete</c> (int on the wire).</summary>
    public int? Action { get; set; }

    /// <summary>Server-assigned, sorting after <see cref="MessageSerial"/> and after earlier annotations of the message.</summary>
    public string? Serial { get; set; }

    public string? MessageSerial { get; set; }

    /// <summary><c>namespace:method.version</c>, such as <c>reaction:distinct.v1</c>.</summary>
    public string? Type { get; set; }

    public string? Name { get; set; }

    public string? ClientId { get; set; }

    public string? ConnectionId { get; set; }

    /// <summary>The amount a <c>multiple.v1</c> annotation adds (1 when absent).</summary>
    public int? Count { get; set; }

    public MessageData Data { get; set; }

    public string? Encoding { get; set; }

    public JsonPayload? Extras { get; set; }

    public long? Timestamp { get; set; }

    public Annotation Clone() => (Annotation)MemberwiseClone();

    /// <summary>Size as counted against <c>maxMessageSize</c>, as for a message: name, clientId, extras JSON and data.</summary>
    public int ToSize() => ToCarrier().Size;

    /// <summary>The fields an annotation shares with a message, for the codecs' message code.</summary>
    internal Message ToCarrier() => new()
    {
        Id = Id,
        Name = Name,
        Data = Data,
        Encoding = Encoding,
        ClientId = ClientId,
        ConnectionId = ConnectionId,
        Timestamp = Timestamp,
        Extras = Extras,
        Action = Action,
        Serial = Serial,
    };

    internal static Annotation FromCarrier(Message message, AnnotationFields fields) => new()
    {
        Id = message.Id,
        Name = message.Name,
        Data = message.Data,
        Encoding = message.Encoding,
        ClientId = message.ClientId,
        ConnectionId = message.ConnectionId,
        Timestamp = message.Timestamp,
        Extras = message.Extras,
        Action = message.Action,
        Serial = message.Serial,
        MessageSerial = fields.MessageSerial,
        Type = fields.Type,
        Count = fields.Count,
    };
}

/// <summary>The fields an annotation has beyond a message's, read and written beside the message's own.</summary>
internal sealed class AnnotationFields
{
    public string? MessageSerial { get; set; }

    public string? Type { get; set; }

    public int? Count { get; set; }

    public static AnnotationFields Of(Annotation annotation) => new() { MessageSerial = annotation.MessageSerial, Type = annotation.Type, Count = annotation.Count };
}
