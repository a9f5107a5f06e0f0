using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Presence events (spec RTP6): ENTER, UPDATE, LEAVE as they happen, PRESENT for each member a SYNC reports, and
/// synthesized LEAVEs for members a SYNC no longer lists. Subscribing attaches the channel, as for messages.
/// </summary>
public sealed partial class RealtimePresence
{
    /// <summary>Copy-on-write under <see cref="Gate"/>, read without it on the delivery path.</summary>
    private Subscriber[] _subscribers = [];

    /// <summary>Calls <paramref name="handler"/> for every presence event; dispose the result to unsubscribe.</summary>
    public IDisposable Subscribe(Action<PresenceMessage> handler) => AddHandler(null, handler);

    /// <summary>Calls <paramref name="handler"/> for every event with <paramref name="action"/>.</summary>
    public IDisposable Subscribe(PresenceAction action, Action<PresenceMessage> handler) => AddHandler(action, handler);

    /// <summary>
    /// Subscribes (to events with <paramref name="action"/>, or all) and returns the subscription to read with
    /// <c>await foreach</c>. Events are buffered from this call on; cancelling ends the subscription.
    /// </summary>
    public PresenceSubscription SubscribeAsync(PresenceAction? action = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new PresenceSubscription(this, action, _options.SubscriptionCapacity, cancellationToken);
        Add(new Subscriber(action, null, subscription));
        return subscription;
    }

    internal void Unsubscribe(object owner)
    {
        lock (Gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s.Owner != owner);
        }
    }

    internal void CompleteSubscriptions()
    {
        Subscriber[] subscribers;
        lock (Gate)
        {
            subscribers = _subscribers;
            _subscribers = [];
        }

        foreach (var subscriber in subscribers)
        {
            subscriber.Stream?.Complete();
        }
    }

    /// <summary>Delivers events on the connection's read loop, outside the lock, in the order they happened.</summary>
    internal void Emit(List<PresenceMessage> events)
    {
        if (events.Count == 0)
        {
            return;
        }

        Subscriber[] subscribers;
        lock (Gate)
        {
            subscribers = _subscribers;
        }

        List<Subscriber>? handlers = null;
        foreach (var subscriber in subscribers)
        {
            if (subscriber.Stream is { } stream)
            {
                foreach (var message in events)
                {
                    if (subscriber.Matches(message) && !stream.TryWrite(message))
                    {
                        SubscriptionFull(_logger, _channel.Name, _options.SubscriptionCapacity);
                    }
                }
            }
            else
            {
                (handlers ??= []).Add(subscriber);
            }
        }

        if (handlers is not null)
        {
            _events.Post(() =>
            {
                foreach (var message in events)
                {
                    foreach (var handler in handlers)
                    {
                        if (handler.Matches(message))
                        {
                            try
                            {
                                handler.Handler!(message);
                            }
                            catch (Exception ex)
                            {
                                HandlerFailed(_logger, ex, _channel.Name);
                            }
                        }
                    }
                }
            });
        }
    }

    private IDisposable AddHandler(PresenceAction? action, Action<PresenceMessage> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var registration = new HandlerRegistration(this);
        Add(new Subscriber(action, handler, registration));
        return registration;
    }

    private void Add(Subscriber subscriber)
    {
        lock (Gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        _channel.AttachImplicitly();
    }

    private sealed record Subscriber(PresenceAction? Action, Action<PresenceMessage>? Handler, object Owner)
    {
        public PresenceSubscription? Stream => Owner as PresenceSubscription;

        public bool Matches(PresenceMessage message) => Action is null || Action == message.Action;
    }

    private sealed class HandlerRegistration(RealtimePresence presence) : IDisposable
    {
        public void Dispose() => presence.Unsubscribe(this);
    }
}
