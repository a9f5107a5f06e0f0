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

    /// <summary>The batch as this attachment is sent it, advancing the chain past it.</summary>
    public MessageBatch Apply(MessageBatch batch)
    {
        DeliveredMessage[]? changed = null;
        for (var i = 0; i < batch.Messages.Length; i++)
        {
            var message = batch.Messages[i];
            if (_base is { } baseMessage && MessageDeltas.Against(baseMessage, message) is { } delta)
            {
                changed ??= (DeliveredMessage[])batch.Messages.Clone();
                changed[i] = delta;
            }

            // What the client decodes last is what the next delta is against (a message without data clears it).
            _base = MessageDeltas.CanBeBase(message) ? message : null;
        }

        return changed is null
            ? batch
            : new MessageBatch(batch.Channel, batch.ChannelSerial, changed, batch.PublisherConnectionId) { IsReplay = batch.IsReplay, ComposedFromMessages = true };
    }
}
