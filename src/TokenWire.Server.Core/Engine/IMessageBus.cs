namespace TokenWire.Server.Engine;

/// <summary>
/// The receiving half of the engine's delivery: a node subscribes to each channel it has attachments on and is handed
/// what any node's <see cref="IMessageLog"/> appended to it, and its ephemeral messages. Nothing is published through
/// this interface: delivery is part of the append (see <see cref="IMessageLog"/>), so an engine can make the two one
/// atomic step (Redis) or a direct call after it (in memory).
/// <list type="bullet">
/// <item>Best-effort and at-most-once: a subscriber may see envelopes late, out of order or not at all (a node that
/// joins, a dropped link). Receivers order by offset and fill gaps from the log, which stays the source of truth.</item>
/// <item>When the engine knows envelopes may have been lost (its link dropped and came back) it calls
/// <c>onMissed</c>, possibly more than once per outage: the receiver asks the log what came after what it has.</item>
/// <item>One subscription's handlers are called one at a time, in the order the engine received the envelopes. They
/// must be quick and must not throw; they are called on the engine's thread.</item>
/// </list>
/// <c>CancellationToken</c> cancels waiting for the subscription, not one already made.
/// </summary>
public interface IMessageBus
{
    /// <summary>Starts delivering the channel's envelopes until the result is disposed.</summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<BusEnvelope> onEnvelope, Action onMissed, CancellationToken cancellationToken = default);
}
