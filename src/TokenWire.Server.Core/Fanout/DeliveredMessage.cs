using TokenWire.Protocol;
using TokenWire.Protocol.MessagePack;
using TokenWire.Server.Log;

namespace TokenWire.Server.Fanout;

/// <summary>
/// One message as a channel delivers it live: encoded lazily, at most once per wire format, and shared by every
/// subscriber (frames are composed per connection from these bytes, <see cref="MessageFrames"/>). A version (update,
/// delete, append) also carries the whole message as of itself, materialised only if some subscriber needs it: an
/// attachment's first contact with a message, or <c>appendMode=full</c>. One replayed from the log's stored bytes
/// (<see cref="StoredEntry"/>) is written from them (<see cref="StoredMessageTranscoder"/>) and decoded only if
/// something needs its <see cref="Message"/> (a filter, a delta, a fold).
/// </summary>
public sealed class DeliveredMessage
{
    // A live delivery is the most common object a publish makes, one per message, so it keeps only references: the
    // log's entry (its message, offset, version and time), and the rarer states in objects of their own. A live
    // message that goes out alone is written straight into its batch's frame, so its own bytes and whole form are
    // made only when something asks for them (a bundle, a replay, a first contact): 48 bytes until then, not 72.
    private readonly LogEntry? _entry;
    private readonly Stored? _stored;
    private readonly MessageSnapshot? _snapshot;
    private Lazies? _lazies;

    /// <param name="loggedAt">When the log appended it (Unix ms, <see cref="LogEntry.LoggedAt"/>); 0 when unknown.</param>
    public DeliveredMessage(Message message, long offset, long? versionOf = null, MessageSnapshot? snapshot = null, long loggedAt = 0)
        : this(new LogEntry(offset, message, versionOf) { LoggedAt = loggedAt }, snapshot)
    {
    }

    public DeliveredMessage(LogEntry entry, MessageSnapshot? snapshot = null)
    {
        _entry = entry;
        _snapshot = snapshot;
    }

    /// <summary>A message as the log stores it, sent as it is stored (a replay: no snapshot, no fold).</summary>
    public DeliveredMessage(StoredEntry stored)
    {
        if (StoredMessageTranscoder.TryReadHeader(stored.Bytes, out var action, out var connectionId, out var timestamp))
        {
            _stored = new Stored(stored, action, connectionId, stored.Timestamp ?? timestamp);
        }
        else
        {
            _entry = stored.Decode();
        }
    }

    /// <summary>The message; one delivered from its stored bytes is decoded the first time this is read.</summary>
    public Message Message => _stored is { } stored ? stored.Message : _entry!.Message;

    /// <summary>About the message's size on the wire, known without encoding it: its stored bytes, or its
    /// <see cref="Message.Size"/> (what a frame's bound in bytes weighs it at).</summary>
    public int ApproximateSize => _stored is { } stored ? stored.Entry.Bytes.Length : Message.Size;

    /// <summary>
    /// What this delivery's objects keep alive besides its encoded bytes (<see cref="RetainedSize"/>): for a live one,
    /// its log entry and message with their strings; for a replayed one, its stored bytes and the connection id read
    /// from them. The lazily made encodings are not counted: a queued delivery has none of its own until the writer
    /// bundles it.
    /// </summary>
    public int RetainedObjectBytes => _stored is { } stored
        ? RetainedSize.DeliveredMessageObject + RetainedSize.StoredObject + stored.Entry.Bytes.Length + RetainedSize.Of(stored.ConnectionId)
        : RetainedSize.DeliveredMessageObject + RetainedSize.LogEntryObject + RetainedSize.Of(_entry!.Message)
            + (_snapshot is null ? 0 : RetainedSize.SnapshotObject);

    /// <summary><see cref="Message"/>'s <c>action</c>, without decoding a stored one.</summary>
    public int? Action => _stored is { } stored ? stored.Action : Message.Action;

    /// <summary><see cref="Message"/>'s <c>connectionId</c>, without decoding a stored one.</summary>
    public string? ConnectionId => _stored is { } stored ? stored.ConnectionId : Message.ConnectionId;

    /// <summary><see cref="Message"/>'s <c>timestamp</c>, without decoding a stored one.</summary>
    public long? Timestamp => _stored is { } stored ? stored.Timestamp : Message.Timestamp;

    /// <summary>The log offset this delivery brings a subscriber to (the last one rolled into it, if several were).</summary>
    public long Offset => _stored is { } stored ? stored.Entry.Offset : _entry!.Offset;

    /// <summary>For a version, the offset of the original message it changes.</summary>
    public long? VersionOf => _stored is { } stored ? stored.Entry.VersionOf : _entry!.VersionOf;

    /// <summary>
    /// When the log appended it (Unix ms; for a version, the version's time, not the message's create time), for
    /// the delivery lag metric; 0 when unknown.
    /// </summary>
    public long LoggedAt => _stored is { } stored ? stored.Entry.LoggedAt : _entry!.LoggedAt;

    public bool IsAppend => Action == MessageActions.Append;

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

            var lazies = GetLazies();
            var whole = Volatile.Read(ref lazies.Whole);
            if (whole is null)
            {
                Interlocked.CompareExchange(ref lazies.Whole, new DeliveredMessage(snapshot.Materialize(), Offset, VersionOf, loggedAt: LoggedAt), null);
                whole = Volatile.Read(ref lazies.Whole)!;
            }

            return whole;
        }
    }

    /// <summary>The message object's bytes in <paramref name="format"/>; racing encoders produce identical bytes, one wins.</summary>
    public ReadOnlyMemory<byte> GetBytes(WireFormat format) => _stored is { } stored
        ? GetLazies().Bytes.GetOrEncode(format, stored.Entry, static (stored, format, output) => Transcode(stored, format, output, withoutConnectionId: false, withoutTimestamp: false))
        : GetLazies().Bytes.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(message, output));

    /// <summary>
    /// The message's bytes in a bundle whose ProtocolMessage carries <paramref name="frameConnectionId"/> and
    /// <paramref name="frameTimestamp"/> (see <see cref="MessageFrames"/>):
    /// without the fields it would inherit unchanged from there. Encoded once per variant and format, and shared.
    /// </summary>
    public ReadOnlyMemory<byte> GetBytesInFrame(WireFormat format, string? frameConnectionId, long? frameTimestamp)
    {
        if (frameConnectionId is null || ConnectionId != frameConnectionId)
        {
            return GetBytes(format);
        }

        var withoutTime = frameTimestamp is not null && Timestamp == frameTimestamp;
        var lazies = GetLazies();
        var variants = Volatile.Read(ref lazies.BytesInFrame);
        if (variants is null)
        {
            Interlocked.CompareExchange(ref lazies.BytesInFrame, new BytesInFrame(), null);
            variants = Volatile.Read(ref lazies.BytesInFrame)!;
        }

        if (_stored is { } stored)
        {
            return withoutTime
                ? variants.WithoutConnectionAndTime.GetOrEncode(format, stored.Entry, static (stored, format, output) => Transcode(stored, format, output, withoutConnectionId: true, withoutTimestamp: true))
                : variants.WithoutConnection.GetOrEncode(format, stored.Entry, static (stored, format, output) => Transcode(stored, format, output, withoutConnectionId: true, withoutTimestamp: false));
        }

        return withoutTime
            ? variants.WithoutConnectionAndTime.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(message, InheritedFields.ConnectionId | InheritedFields.Timestamp, output))
            : variants.WithoutConnection.GetOrEncode(format, Message, static (message, format, output) => ProtocolCodecs.For(format).WriteMessage(message, InheritedFields.ConnectionId, output));
    }

    /// <summary>
    /// The <c>connectionId</c> and <c>timestamp</c> a frame composed of <paramref name="messages"/> carries: its first
    /// message's, so the messages that share them go without (the SDKs copy them down, TM2c/TM2f); none when a message
    /// has none, as it would inherit one.
    /// </summary>
    public static (string? ConnectionId, long? Timestamp) FrameFields(ReadOnlySpan<DeliveredMessage> messages)
    {
        if (messages.IsEmpty)
        {
            return (null, null);
        }

        var connectionId = messages[0].ConnectionId;
        var timestamp = messages[0].Timestamp;
        foreach (var message in messages)
        {
            connectionId = message.ConnectionId is null ? null : connectionId;
            timestamp = message.Timestamp is null ? null : timestamp;
        }

        return (connectionId, timestamp);
    }

    private static void Transcode(StoredEntry stored, WireFormat format, System.Buffers.IBufferWriter<byte> output, bool withoutConnectionId, bool withoutTimestamp) =>
        StoredMessageTranscoder.Write(format, stored.Bytes, stored.Position, stored.Timestamp, withoutConnectionId, withoutTimestamp, output);

    private Lazies GetLazies()
    {
        var lazies = Volatile.Read(ref _lazies);
        if (lazies is null)
        {
            Interlocked.CompareExchange(ref _lazies, new Lazies(), null);
            lazies = Volatile.Read(ref _lazies)!;
        }

        return lazies;
    }

    /// <summary>What is made only when asked for: the message's own bytes, their variants in a bundle, the whole form.</summary>
    private sealed class Lazies
    {
        public PerFormatBytes Bytes;
        public BytesInFrame? BytesInFrame;
        public DeliveredMessage? Whole;
    }

    /// <summary>The message's bytes without the fields a bundle's frame carries: made only when it is bundled.</summary>
    private sealed class BytesInFrame
    {
        public PerFormatBytes WithoutConnection;
        public PerFormatBytes WithoutConnectionAndTime;
    }

    /// <summary>A replayed message's stored bytes and the header fields read from them; decoded only if asked.</summary>
    private sealed class Stored(StoredEntry entry, int? action, string? connectionId, long? timestamp)
    {
        private Message? _message;

        public StoredEntry Entry { get; } = entry;

        public int? Action { get; } = action;

        public string? ConnectionId { get; } = connectionId;

        public long? Timestamp { get; } = timestamp;

        public Message Message
        {
            get
            {
                var message = Volatile.Read(ref _message);
                if (message is null)
                {
                    Interlocked.CompareExchange(ref _message, Entry.Decode().Message, null);
                    message = Volatile.Read(ref _message)!;
                }

                return message;
            }
        }
    }
}
