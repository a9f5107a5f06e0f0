using System.Collections.Concurrent;
using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Annotations;

/// <summary>
/// The embedded engine's annotations: per channel, each message's annotations and live <see cref="MessageSummary"/>.
/// Applying and delivering happen under the channel's lock, so every subscriber sees one order. Messages whose last
/// annotation is older than the retention are forgotten as the channel is next annotated.
/// </summary>
public sealed class InMemoryAnnotationStore(TimeProvider? time = null) : IAnnotationStore
{
    private readonly ConcurrentDictionary<ChannelKey, ChannelState> _channels = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public ValueTask<AnnotationEvent> PublishAsync(ChannelKey channel, Annotation annotation, AnnotationStorage storage, CancellationToken cancellationToken = default)
    {
        var state = _channels.GetOrAdd(channel, static _ => new ChannelState());
        var now = _time.GetUtcNow();
        lock (state)
        {
            Forget(state, now, storage.Retention);
            var messageSerial = annotation.MessageSerial!;
            if (!state.Messages.TryGetValue(messageSerial, out var message))
            {
                state.Messages[messageSerial] = message = new MessageState();
            }

            message.Touched = now;
            if (annotation.Id is { } id && message.Events.TryGetValue(id, out var earlier))
            {
                return ValueTask.FromResult(earlier);
            }

            var stored = annotation.Clone();
            stored.Serial = AnnotationSerials.For(messageSerial, message.Annotations.Count);
            message.Annotations.Add(stored);
            message.Summary.Apply(stored);
            var applied = new AnnotationEvent(channel, stored, message.Summary.Render(storage.MaxClientIds), ++state.Sequence);
            state.Events.Add(applied);
            if (state.Events.Count > IAnnotationStore.MaxRetainedEvents)
            {
                state.Events.RemoveRange(0, state.Events.Count - IAnnotationStore.MaxRetainedEvents);
            }

            if (stored.Id is { } storedId)
            {
                message.Events[storedId] = applied;
            }

            foreach (var handler in state.Handlers)
            {
                handler(applied);
            }

            return ValueTask.FromResult(applied);
        }
    }

    public ValueTask<IReadOnlyList<Annotation>> ReadAsync(ChannelKey channel, string messageSerial, int start, int limit, CancellationToken cancellationToken = default)
    {
        if (!_channels.TryGetValue(channel, out var state))
        {
            return ValueTask.FromResult<IReadOnlyList<Annotation>>([]);
        }

        lock (state)
        {
            return ValueTask.FromResult<IReadOnlyList<Annotation>>(
                state.Messages.TryGetValue(messageSerial, out var message) ? message.Annotations.Skip(start).Take(limit).ToList() : []);
        }
    }

    public ValueTask<JsonPayload?> GetSummaryAsync(ChannelKey channel, string messageSerial, int maxClientIds, CancellationToken cancellationToken = default)
    {
        if (!_channels.TryGetValue(channel, out var state))
        {
            return ValueTask.FromResult<JsonPayload?>(null);
        }

        lock (state)
        {
            return ValueTask.FromResult(state.Messages.TryGetValue(messageSerial, out var message) ? message.Summary.Render(maxClientIds) : null);
        }
    }

    public ValueTask<long> GetSequenceAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        if (!_channels.TryGetValue(channel, out var state))
        {
            return ValueTask.FromResult(0L);
        }

        lock (state)
        {
            return ValueTask.FromResult(state.Sequence);
        }
    }

    public ValueTask<IReadOnlyList<AnnotationEvent>> ReadEventsAsync(ChannelKey channel, long after, int limit, CancellationToken cancellationToken = default)
    {
        if (!_channels.TryGetValue(channel, out var state) || limit <= 0)
        {
            return ValueTask.FromResult<IReadOnlyList<AnnotationEvent>>([]);
        }

        lock (state)
        {
            // Sequences are consecutive in the list: the first retained one locates the rest.
            var events = state.Events;
            var start = events.Count == 0 ? 0 : (int)Math.Clamp(after - events[0].Sequence + 1, 0, events.Count);
            return ValueTask.FromResult<IReadOnlyList<AnnotationEvent>>(events.GetRange(start, Math.Min(limit, events.Count - start)));
        }
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<AnnotationEvent> handler, CancellationToken cancellationToken = default)
    {
        var state = _channels.GetOrAdd(channel, static _ => new ChannelState());
        lock (state)
        {
            state.Handlers = [.. state.Handlers, handler];
        }

        return ValueTask.FromResult<IAsyncDisposable>(new Subscription(state, handler));
    }

    private static void Forget(ChannelState state, DateTimeOffset now, TimeSpan retention)
    {
        // At most once a minute: a channel with many annotated messages is not scanned per annotation.
        if (now < state.NextSweep)
        {
            return;
        }

        state.NextSweep = now + TimeSpan.FromMinutes(1);
        var oldest = (now - retention).ToUnixTimeMilliseconds();
        var expired = state.Events.FindIndex(e => e.Annotation.Timestamp >= oldest);
        state.Events.RemoveRange(0, expired < 0 ? state.Events.Count : expired);
        foreach (var serial in state.Messages.Where(m => m.Value.Touched < now - retention).Select(m => m.Key).ToList())
        {
            state.Messages.Remove(serial);
        }
    }

    private sealed class ChannelState
    {
        public Dictionary<string, MessageState> Messages { get; } = new(StringComparer.Ordinal);

        public Action<AnnotationEvent>[] Handlers { get; set; } = [];

        /// <summary>The applied events still retained, in sequence order.</summary>
        public List<AnnotationEvent> Events { get; } = [];

        public long Sequence { get; set; }

        public DateTimeOffset NextSweep { get; set; }
    }

    private sealed class MessageState
    {
        public List<Annotation> Annotations { get; } = [];

        public Dictionary<string, AnnotationEvent> Events { get; } = new(StringComparer.Ordinal);

        public MessageSummary Summary { get; } = new();

        public DateTimeOffset Touched { get; set; }
    }

    private sealed class Subscription(ChannelState state, Action<AnnotationEvent> handler) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            lock (state)
            {
                state.Handlers = Array.FindAll(state.Handlers, h => h != handler);
            }

            return ValueTask.CompletedTask;
        }
    }
}
