using System.Collections.Concurrent;
using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Presence;

/// <summary>
/// The embedded engine's <see cref="IPresenceStore"/>: one <see cref="PresenceSet"/> per channel in this node's memory.
/// Applies and their event delivery happen under the channel's lock, so every subscriber sees one order. A channel
/// with neither members nor subscribers is forgotten.
/// </summary>
public sealed class InMemoryPresenceStore : IPresenceStore
{
    private readonly ConcurrentDictionary<ChannelKey, ChannelState> _channels = new();

    public ValueTask<IReadOnlyList<PresenceMessage>> ApplyAsync(ChannelKey channel, IReadOnlyList<PresenceChange> changes, int maxMembers, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var state = _channels.GetOrAdd(channel, static _ => new ChannelState());
            lock (state)
            {
                if (state.Removed)
                {
                    continue; // Forgotten between lookup and lock: use its replacement.
                }

                var events = state.Members.Apply(changes, maxMembers);
                if (events.Count > 0)
                {
                    var presenceEvent = new PresenceEvent(channel, events);
                    foreach (var handler in state.Handlers)
                    {
                        handler(presenceEvent);
                    }
                }

                ForgetIfUnused(channel, state);
                return ValueTask.FromResult(events);
            }
        }
    }

    public ValueTask<IReadOnlyList<PresenceMessage>> GetMembersAsync(ChannelKey channel, CancellationToken cancellationToken = default)
    {
        if (!_channels.TryGetValue(channel, out var state))
        {
            return ValueTask.FromResult<IReadOnlyList<PresenceMessage>>([]);
        }

        lock (state)
        {
            return ValueTask.FromResult(state.Members.Members());
        }
    }

    public ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<PresenceEvent> handler, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var state = _channels.GetOrAdd(channel, static _ => new ChannelState());
            lock (state)
            {
                if (state.Removed)
                {
                    continue;
                }

                state.Handlers = [.. state.Handlers, handler];
                return ValueTask.FromResult<IAsyncDisposable>(new Subscription(this, channel, state, handler));
            }
        }
    }

    private void Unsubscribe(ChannelKey channel, ChannelState state, Action<PresenceEvent> handler)
    {
        lock (state)
        {
            state.Handlers = state.Handlers.Where(h => h != handler).ToArray();
            ForgetIfUnused(channel, state);
        }
    }

    /// <summary>Caller holds the state's lock.</summary>
    private void ForgetIfUnused(ChannelKey channel, ChannelState state)
    {
        if (state.Members.Count == 0 && state.Handlers.Length == 0)
        {
            state.Removed = true;
            _channels.TryRemove(new KeyValuePair<ChannelKey, ChannelState>(channel, state));
        }
    }

    private sealed class ChannelState
    {
        public PresenceSet Members { get; } = new();

        public Action<PresenceEvent>[] Handlers { get; set; } = [];

        public bool Removed { get; set; }
    }

    private sealed class Subscription(InMemoryPresenceStore store, ChannelKey channel, ChannelState state, Action<PresenceEvent> handler) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                store.Unsubscribe(channel, state, handler);
            }

            return ValueTask.CompletedTask;
        }
    }
}
