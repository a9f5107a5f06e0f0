using TokenWire.Protocol.Serials;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// One <c>delta=vcdiff</c> attachment's chain: the message it was delivered last, which its client holds as the base
/// of the next delta. Each message goes out as a delta against that base when one exists and the delta is smaller
/// (<see cref="MessageDeltas"/>, computed once per base and shared), whole otherwise; a new attachment (attach,
/// resume, a recovery re-attach) starts without a base, so its first message is whole. Not thread-safe: its
/// subscriber applies it under its lock, in delivery order.
/// </summary>
internal sealed class DeltaChain
{
    private DeliveredMessage? _base;

    /// <summary>Whether the last message went whole (so a delta after it starts a frame).</summary>
    private bool _lastWhole = true;

    /// <summary>
    /// The batch as this attachment is sent it, advancing the chain past it. The first delta after a whole message
    /// starts a frame (<see cref="MessageBatch.StartsFrame"/>): the SDK drops a whole frame when one delta in it fails,
    /// so the whole message must reach it in a frame of its own for its re-attach to move past it (RTL18). A batch
    /// split there comes back as two; <paramref name="rest"/> is the second.
    /// </summary>
    public MessageBatch Apply(MessageBatch batch, out MessageBatch? rest)
    {
        rest = null;
        DeliveredMessage[]? changed = null;
        var split = -1;
        for (var i = 0; i < batch.Messages.Length; i++)
        {
            var message = batch.Messages[i];
            var delta = _base is { } baseMessage ? MessageDeltas.Against(baseMessage, message) : null;
            if (delta is not null)
            {
                changed ??= (DeliveredMessage[])batch.Messages.Clone();
                changed[i] = delta;
                if (_lastWhole && split < 0)
                {
                    split = i;
                }
            }

            // What the client decodes last is what the next delta is against (a message without data clears it).
            _base = MessageDeltas.CanBeBase(message) ? message : null;
            _lastWhole = delta is null;
        }

        if (changed is null)
        {
            return batch;
        }

        if (split <= 0)
        {
            return Batch(batch, changed, batch.ChannelSerial, startsFrame: split == 0);
        }

        rest = Batch(batch, changed[split..], batch.ChannelSerial, startsFrame: true);
        return Batch(batch, changed[..split], SerialAt(batch, changed[split - 1]), startsFrame: false);
    }

    /// <summary>
    /// A MESSAGE frame sent outside the chain (a message's summary): its message has no data, so the client holds no
    /// base after it, and neither does the chain.
    /// </summary>
    public void Reset()
    {
        _base = null;
        _lastWhole = true;
    }

    private static MessageBatch Batch(MessageBatch batch, DeliveredMessage[] messages, string channelSerial, bool startsFrame) =>
        new(batch.Channel, channelSerial, messages, batch.PublisherConnectionId) { IsReplay = batch.IsReplay, ComposedFromMessages = true, StartsFrame = startsFrame };

    /// <summary>The channelSerial that brings the client to <paramref name="last"/> (the batch's own when that is unknown).</summary>
    private static string SerialAt(MessageBatch batch, DeliveredMessage last) =>
        last.Offset > 0 && ChannelSerials.TryParse(batch.ChannelSerial, out var position, out var mark) ? ChannelSerials.Format(position.WithOffset(last.Offset), mark) : batch.ChannelSerial;
}
