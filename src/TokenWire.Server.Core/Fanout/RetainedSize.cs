using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// What the objects behind a queued delivery keep alive on the heap (64-bit runtime), besides its encoded bytes. A
/// connection's outbound bound weighs a queued batch by its bytes plus these (<see cref="MessageBatch.GetQueuedWeight"/>),
/// so that the bound holds for the memory a connection that stops reading keeps alive, not only for what it would be
/// sent: a queued live delivery is often the last thing holding its batch, message and strings once every other
/// subscriber has been sent it, and they weigh about twice its frame. Estimates from the objects' fields, checked
/// against what allocating them costs (<c>RetainedSizeTests</c>). Strings shared with the rest of the node (the channel
/// name, the publisher's connection id) are not counted.
/// </summary>
internal static class RetainedSize
{
    /// <summary>An object's header and method table pointer.</summary>
    private const int ObjectHeader = 16;

    /// <summary>An array's header, method table pointer and length.</summary>
    private const int ArrayHeader = 24;

    /// <summary>A <see cref="Message"/>: a long, eleven references and a nullable int.</summary>
    internal const int MessageObject = ObjectHeader + 8 + (11 * 8) + 8;

    /// <summary>A <see cref="Log.LogEntry"/>: offset, message, version-of and log time.</summary>
    internal const int LogEntryObject = ObjectHeader + (4 * 8);

    /// <summary>A <see cref="DeliveredMessage"/>: four references.</summary>
    internal const int DeliveredMessageObject = ObjectHeader + (4 * 8);

    /// <summary>A <see cref="MessageSnapshot"/> (its text buffer and original are shared with the channel's fold).</summary>
    internal const int SnapshotObject = ObjectHeader + (7 * 8) + 8;

    /// <summary>A replayed message's stored form: the <c>Stored</c> object with its entry (epoch, offset, version-of,
    /// log time, bytes), action, connection id, timestamp and decoded message.</summary>
    internal const int StoredObject = ObjectHeader + 56 + 8 + 8 + 16 + 8;

    /// <summary>A <see cref="JsonPayload"/> (its arrays counted apart).</summary>
    internal const int JsonPayloadObject = ObjectHeader + 16 + (2 * 8);

    /// <summary>A <see cref="MessageBatch"/>: a per-format frame slot (two references), four references, its cached
    /// weight and three flags.</summary>
    internal const int BatchObject = ObjectHeader + (2 * 8) + (4 * 8) + 8;

    /// <summary>The array a batch's frame is in, besides the frame's bytes (header, and alignment at worst).</summary>
    internal const int FrameArray = ArrayHeader + 7;

    /// <summary>An item's slot in the connection's queue.</summary>
    internal const int QueueSlot = 8;

    public static int Of(string? value) => value is null ? 0 : Align(ArrayHeader - 2 + (2 * value.Length));

    public static int OfBytes(int length) => Align(ArrayHeader + length);

    public static int OfReferences(int count) => ArrayHeader + (8 * count);

    public static int Of(JsonPayload? payload) => payload is null ? 0 : JsonPayloadObject + OfBytes(payload.HeldBytes);

    /// <summary>A message and what it holds but its connection id (the publisher's, shared by all its messages).</summary>
    public static int Of(Message message) =>
        MessageObject + Of(message.Id) + Of(message.Name) + Of(message.Encoding) + Of(message.ClientId)
        + Of(message.ConnectionKey) + Of(message.Serial) + Of(message.Extras) + Of(message.Version)
        + Of(message.Annotations)
        + (message.Data.Text is { } text ? Of(text) : message.Data.Bytes is { } bytes ? OfBytes(bytes.Length) : 0);

    private static int Align(int size) => (size + 7) & ~7;
}
