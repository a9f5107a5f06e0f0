using System.Text;

namespace TokenWire.Protocol;

/// <summary>An Ably Message (spec TM2, reference §3.1).</summary>
public sealed class Message
{
    // Every publish decodes one, and every history read: the timestamp is a plain long with a value no message has
    // (the server sets every stored or relayed message's) standing for "absent", 8 bytes less than a nullable one.
    private const long NoTimestamp = long.MinValue;

    private long _timestamp = NoTimestamp;

    public string? Id { get; set; }

    public string? Name { get; set; }

    public MessageData Data { get; set; }

    /// <summary>The transform chain still applied to <see cref="Data"/>, without the transport's outer base64 layer.</summary>
    public string? Encoding { get; set; }

    public string? ClientId { get; set; }

    public string? ConnectionId { get; set; }

    /// <summary>Client to server only: REST "publish on behalf of" a realtime connection.</summary>
    public string? ConnectionKey { get; set; }

    public long? Timestamp
    {
        get => _timestamp == NoTimestamp ? null : _timestamp;
        set => _timestamp = value ?? NoTimestamp;
    }

    public JsonPayload? Extras { get; set; }

    /// <summary>0 create, 1 update, 2 delete, 3 meta, 4 summary, 5 append (int on the wire).</summary>
    public int? Action { get; set; }

    public string? Serial { get; set; }

    public JsonPayload? Version { get; set; }

    /// <summary>Server to client only: <c>{ summary: { type: entry } }</c>, the message's annotation summary (TM2u).</summary>
    public JsonPayload? Annotations { get; set; }

    /// <summary>Size as counted against <c>maxMessageSize</c>: name, clientId, extras JSON and data.</summary>
    public int Size =>
        Utf8Length(Name) + Utf8Length(ClientId) + (Extras?.Utf8Json.Length ?? 0) + Data.Size;

    public Message Clone() => (Message)MemberwiseClone();

    private static int Utf8Length(string? s) => s is null ? 0 : System.Text.Encoding.UTF8.GetByteCount(s);
}
