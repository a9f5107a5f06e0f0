using System.Collections.Concurrent;

namespace TokenWire.Server.Bus;

/// <summary>The embedded engine's bus: handlers are called synchronously on the publishing thread.</summary>
public sealed class InMemoryMessageBus : IMessageBus
{
    private readonly ConcurrentDictionary<string, Action<BusEnvelope>[]> _handlers = new(StringComparer.Ordinal);

    public ValueTask PublishAsync(BusEnvelope envelope, CancellationToken cancellationToken = default)
    {
        if (_handlers.TryGetValue(envelope.ChannelKey, out var handlers))
        {
            foreach (var handler in handlers)
            {
                handler(envelope);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(string channelKey, Action<BusEnvelope> handler, CancellationToken cancellationToken = default)
    {
        _handlers.AddOrUpdate(channelKey, static (_, h) => [h], static (_, existing, h) => [.. existing, h], handler);
        return ValueTask.FromResult<IAsyncDisposable>(new Subscription(this, channelKey, handler));
    }

    private void Unsubscribe(string channelKey, Action<BusEnvelope> handler)
    {
        while (_handlers.TryGetValue(channelKey, out var existing))
        {
            var remaining = existing.Where(h => h != handler).ToArray();
            var done = remaining.Length == 0
                ? _handlers.TryRemove(new KeyValuePair<string, Action<BusEnvelope>[]>(channelKey, existing))
                : _handlers.TryUpdate(channelKey, remaining, existing);
            if (done)
            {
                return;
            }
        }
    }

    private sealed class Subscription(InMemoryMessageBus bus, string channelKey, Action<BusEnvelope> handler) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            bus.Unsubscribe(channelKey, handler);
            return ValueTask.CompletedTask;
        }
    }
}
