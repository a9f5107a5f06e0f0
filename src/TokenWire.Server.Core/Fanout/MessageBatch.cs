using TokenWire.Protocol;

namespace TokenWire.Server.Fanout;

/// <summary>
/// Messages of one channel bound for a subscriber, in log order, bringing it to <see cref="ChannelSerial"/>. The
/// channel makes one batch per delivery and shares it with every subscriber that takes it unchanged; a subscriber
/// whose state changes what it receives (echo, first contact, <c>appendMode</c>) gets a batch of its own. A
/// connection's egress sends a batch as one MESSAGE frame, or bundles consecutive batches of a channel into one.
/// </summary>
public sealed class MessageBatch(string channel, string channelSerial, DeliveredMessage[] messages, string? publisherConnectionId = null)
{
    private PerFormatBytes _frame;
    private int _retainedObjectBytes = -1;

    public string Channel { get; } = channel;

    public string ChannelSerial { get; } = channelSerial;

    public DeliveredMessage[] Messages { get; } = messages;

    /// <summary>The realtime connection whose publish this is, for echo suppression; null when unknown or REST.</summary>
    public string? PublisherConnectionId { get; } = publisherConnectionId;

    /// <summary>A resume's or rewind's replay from the log, not a live delivery (its age is not delivery lag).</summary>
    public bool IsReplay { get; init; }

    /// <summary>
    /// Starts a frame of its own, never bundled after the batches before it: a delta chain's first delta after a whole
    /// message, so a client that cannot apply it has still processed the whole one, and re-attaches after it.
    /// </summary>
    public bool StartsFrame { get; init; }

    /// <summary>Whether any message is a version (so a subscriber's first-contact state may change it).</summary>
    public bool HasVersions { get; } = Array.Exists(messages, static m => m.VersionOf is not null);

    /// <summary>
    /// This batch as one MESSAGE frame, encoded once per wire format and shared; what a subscriber keeping up is sent.
    /// The messages are encoded straight into it: their own bytes (<see cref="DeliveredMessage.GetBytes"/>) are made
    /// only if a lagging connection bundles them with others.
    /// </summary>
    public ReadOnlyMemory<byte> GetFrame(WireFormat format) =>
        _frame.GetOrEncode(format, this, static (batch, format, output) =>
            MessageFrames.Write(format, batch.Channel, batch.ChannelSerial, batch.Messages.AsSpan(), static m => m.Message, output));

    /// <summary>
    /// What this batch weighs in a connection's queue. A live batch is shared, so it is its frame. One made for one
    /// connection alone goes out composed from its messages' own bytes (<see cref="ComposedFromMessages"/>), so its
    /// frame is never made: it is the sum of those bytes, as the frame will hold them (<see cref="DeliveredMessage.FrameFields"/>),
    /// so each message is encoded once, here, and the egress composes the frame from what this encoded.
    /// </summary>
    public int GetQueuedSize(WireFormat format)
    {
        if (!ComposedFromMessages)
        {
            return GetFrame(format).Length;
        }

        var (connectionId, timestamp) = DeliveredMessage.FrameFields(Messages);
        var size = 0;
        foreach (var message in Messages)
        {
            size += message.GetBytesInFrame(format, connectionId, timestamp).Length;
        }

        return size;
    }

    /// <summary>
    /// What this batch weighs against a connection's outbound bound: its bytes there (<see cref="GetQueuedSize"/>)
    /// plus the objects it keeps alive while queued (<see cref="RetainedObjectBytes"/>), so the bound holds for memory.
    /// </summary>
    public int GetQueuedWeight(WireFormat format) => GetQueuedSize(format) + RetainedObjectBytes;

    /// <summary>
    /// The objects this batch keeps alive while queued (<see cref="RetainedSize"/>): itself, its serial, its frame's
    /// array, its array of messages and theirs. Computed once, so that a connection's queue adds and removes the same weight for it.
    /// </summary>
    public int RetainedObjectBytes
    {
        get
        {
            var bytes = Volatile.Read(ref _retainedObjectBytes);
            if (bytes < 0)
            {
                bytes = RetainedSize.QueueSlot + RetainedSize.BatchObject + RetainedSize.FrameArray + RetainedSize.Of(ChannelSerial)
                    + RetainedSize.OfReferences(Messages.Length);
                foreach (var message in Messages)
                {
                    bytes += message.RetainedObjectBytes;
                }

                // Racing readers compute the same figure from the same messages; the first one stored is kept.
                var first = Interlocked.CompareExchange(ref _retainedObjectBytes, bytes, -1);
                bytes = first >= 0 ? first : bytes;
            }

            return bytes;
        }
    }

    /// <summary>
    /// Made for one connection alone (a replay, an attachment's own view: first contacts, <c>appendMode=full</c>, a
    /// qualified name): its frame is composed from the messages' shared bytes rather than serialised for it
    /// (<see cref="GetFrame"/>), so no message is serialised again per attachment.
    /// </summary>
    public bool ComposedFromMessages { get; init; }

    /// <summary>As a ProtocolMessage (tests, diagnostics); the wire path never builds one.</summary>
    public ProtocolMessage ToProtocolMessage() => new(ProtocolAction.Message)
    {
        Channel = Channel,
        ChannelSerial = ChannelSerial,
        Messages = Array.ConvertAll(Messages, static m => m.Message),
    };
}
