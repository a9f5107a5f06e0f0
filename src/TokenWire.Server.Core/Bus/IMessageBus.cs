namespace TokenWire.Server.Bus;

/// <summary>
/// Node-to-node fan-out of appended messages. Delivery is best-effort and at-most-once: a subscriber may see
/// envelopes late, out of order or not at all (a node that joins, a dropped link), so receivers order by offset and
/// fill gaps from the <see cref="Log.IMessageLog"/>, which stays the source of truth. Handlers must be quick and
/// must not throw; they are called on the bus's thread.
/// </summary>
public interface IMessageBus
{
    ValueTask PublishAsync(BusEnvelope envelope, CancellationToken cancellationToken = default);

    /// <summary>Starts delivering the channel's envelopes to <paramref name="handler"/> until the result is disposed.</summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(string channelKey, Action<BusEnvelope> handler, CancellationToken cancellationToken = default);
}
