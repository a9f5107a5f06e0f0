using System.Collections.Concurrent;

namespace TokenWire.Server.Engine;

/// <summary>
/// The embedded engine's delivery: <see cref="InMemoryMessageLog"/> hands each append to <see cref="Deliver"/>, which
/// calls the channel's handlers synchronously on the appending thread. One process has no link to lose, so
/// <c>onMissed</c> is never called.
/// </summary>
public sealed class InMemoryMessageBus : IMessageBus
{
    private readonly ConcurrentDictionary<ChannelKey, Action<BusEnvelope>[]> _handlers = new();

    /// <summary>Hands an envelope to the channel's subscribers (the log's side of the engine; tests inject with it too).</summary>
    public void Deliver(BusEnvelope envelope)
    {
        if (_handlers.TryGetValue(envelope.Channel, out var handlers))
        {
            foreach (var handler in handlers)
            {
                handler(envelope);
            }
        }
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<BusEnvelope> onEnvelope, Action onMissed, CancellationToken cancellationToken = default)
    {
        _handlers.AddOrUpdate(channel, static (_, h) => [h], static (_, existing, h) => [.. existing, h], onEnvelope);
        return ValueTask.FromResult<IAsyncDisposable>(new Subscription(this, channel, onEnvelope));
    }

    private void Unsubscribe(ChannelKey channel, Action<BusEnvelope> handler)
    {
        while (_handlers.TryGetValue(channel, out var existing))
        {
            var remaining = existing.Where(h => h != handler).ToArray();
            var done = remaining.Length == 0
                ? _handlers.TryRemove(new KeyValuePair<ChannelKey, Action<BusEnvelope>[]>(channel, existing))
                : _handlers.TryUpdate(channel, remaining, existing);
            if (done)
            {
                return;
            }
        }
    }

    private sealed class Subscription(InMemoryMessageBus bus, ChannelKey channel, Action<BusEnvelope> handler) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            bus.Unsubscribe(channel, handler);
            return ValueTask.CompletedTask;
        }
    }
}
