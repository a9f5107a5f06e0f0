using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Presence events (spec RTP6): ENTER, UPDATE, LEAVE as they happen, PRESENT for each member a SYNC reports, and
/// synthesized LEAVEs for members a SYNC no longer lists. Subscribing attaches the channel, as for messages.
/// </summary>
public sealed partial class RealtimePresence
{
    private readonly SubscriberList<PresenceMessage> _subscribers;

    /// <summary>Calls <paramref name="handler"/> for every presence event; dispose the result to unsubscribe.</summary>
    public IDisposable Subscribe(Action<PresenceMessage> handler) => Added(_subscribers.AddHandler(null, handler));

    /// <summary>Calls <paramref name="handler"/> for every event with <paramref name="action"/>.</summary>
    public IDisposable Subscribe(PresenceAction action, Action<PresenceMessage> handler) => Added(_subscribers.AddHandler(m => m.Action == action, handler));

    /// <summary>
    /// Subscribes (to events with <paramref name="action"/>, or all) and returns the subscription to read with
    /// <c>await foreach</c>. Events are buffered from this call on; cancelling ends the subscription.
    /// </summary>
    public PresenceSubscription SubscribeAsync(PresenceAction? action = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new PresenceSubscription(this, action, _options.SubscriptionCapacity, cancellationToken);
        _subscribers.AddSubscription(action is { } only ? m => m.Action == only : null, subscription);
        return Added(subscription);
    }

    internal void Unsubscribe(object owner) => _subscribers.Remove(owner);

    internal void CompleteSubscriptions() => _subscribers.CompleteAll();

    /// <summary>Delivers events on the connection's read loop, outside the lock, in the order they happened.</summary>
    internal void Emit(List<PresenceMessage> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        _subscribers.Deliver(
            _subscribers.Snapshot(),
            events,
            (_, _) => SubscriptionFull(_logger, _channel.Name, _options.SubscriptionCapacity),
            ex => HandlerFailed(_logger, ex, _channel.Name));
    }

    /// <summary>Subscribing attaches the channel, as for messages (RTP6c).</summary>
    private TSubscription Added<TSubscription>(TSubscription subscription)
    {
        _channel.AttachImplicitly();
        return subscription;
    }
}
