using TokenWire.Protocol;
using TokenWire.Server.Log;

namespace TokenWire.Server.Fanout;

/// <summary>
/// One message as a channel delivers it live: encoded lazily, at most once per wire format, and shared by every
/// subscriber (frames are composed per connection from these bytes, <see cref="MessageFrames"/>). A version (update,
/// delete, append) also carries the whole message as of itself, materialised only if some subscriber needs it: an
/// attachment's first contact with a message, or <c>appendMode=full</c>.
/// </summary>
public sealed class DeliveredMessage
{
    private readonly MessageSnapshot? _snapshot;
    private PerFormatBytes _bytes;
    private PerFormatBytes _bytesWithoutConnection;
    private PerFormatBytes _bytesWithoutConnectionAndTime;
    private DeliveredMessage? _whole;

    /// <param name="loggedAt">When the log appended it (Unix ms, <see cref="LogEntry.LoggedAt"/>); 0 when unknown.</param>
    public DeliveredMessage(Message message, long offset, long? versionOf = null, MessageSnapshot? snapshot = null, long loggedAt = 0)
    {
        Message = message;
        LoggedAt = loggedAt;
        Offset = offset;
        VersionOf = versionOf;
        _snapshot = snapshot;
    }

    public DeliveredMessage(LogEntry entry, MessageSnapshot? snapshot = null)
        : this(entry.Message, entry.Offset, entry.VersionOf, snapshot, entry.LoggedAt)
    {
    }

    public Message Message { get; }

    /// <summary>The log offset this delivery brings a subscriber to (the last one rolled into it, if several were).</summary>
    public long Offset { get; }

    /// <summary>For a version, the offset of the original message it changes.</summary>
    public long? VersionOf { get; }

    /// <summary>
    /// When the log appended it (Unix ms; for a version, the version's time, not the message's create time), for
    /// the delivery lag metric; 0 when unknown.
    /// </summary>
    public long LoggedAt { get; }

    public bool IsAppend => Message.Action == MessageActions.Append;

    /// <summary>
    /// The whole message as of this version — action <c>message.update</c> (or <c>message.delete</c>), the data so
    /// far, the latest name and extras, this version — or this message itself when the channel could not know it.
    /// </summary>
    public DeliveredMessage Whole
    {
        get
        {
            if (_snapshot is not { } snapshot)
            {
                return this;
            }

            var whole = Volatile.Read(ref _whole);
            if (whole is null)
            {
                Interlocked.CompareExchange(ref _whole, new DeliveredMessage(snapshot.Materialize(), Offset, VersionOf, loggedAt: LoggedAt), null);
                whole = Volatile.Read(ref _whole)!;
            }

            return whole;
        }
    }

    /// <summary>The message object's bytes in <paramref name="format"/>; racing encoders produce identical bytes, one wins.</summary>
    public ReadOnlyMemory<byte> GetBytes(WireFormat format) =>
        _bytes.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(message, output));

    /// <summary>
    /// The message's bytes in a bundle whose ProtocolMessage carries <paramref name="frameConnectionId"/> and
    /// <paramref name="frameTimestamp"/> (see <see cref="MessageFrames"/>):
    /// without the fields it would inherit unchanged from there. Encoded once per variant and format, and shared.
    /// </summary>
    public ReadOnlyMemory<byte> GetBytesInFrame(WireFormat format, string? frameConnectionId, long? frameTimestamp)
    {
        if (frameConnectionId is null || Message.ConnectionId != frameConnectionId)
        {
            return GetBytes(format);
        }

        return frameTimestamp is not null && Message.Timestamp == frameTimestamp
            ? _bytesWithoutConnectionAndTime.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(Without(message, timestamp: true), output))
            : _bytesWithoutConnection.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(Without(message, timestamp: false), output));
    }

    private static Message Without(Message message, bool timestamp)
    {
        var copy = message.Clone();
        copy.ConnectionId = null;
        copy.Timestamp = timestamp ? null : copy.Timestamp;
        return copy;
    }
}
