namespace TokenWire.Client.Internal;

/// <summary>
/// Who listens to one kind of channel event (messages, presence events, annotations): handlers and buffered
/// subscriptions, each with an optional filter. The list is copy-on-write under the connection's gate and read without
/// it on the delivery path; handlers run on the event dispatcher, in order, and buffered subscriptions are written on
/// the read loop, never waited for.
/// </summary>
internal sealed class SubscriberList<T>(Lock gate, EventDispatcher events)
{
    private Entry[] _entries = [];

    /// <summary>Whether anyone listens; call under the gate.</summary>
    public bool IsEmptyLocked => _entries.Length == 0;

    /// <summary>Who listens now; call under the gate, deliver to it later without.</summary>
    public Entry[] SnapshotLocked => _entries;

    public Entry[] Snapshot()
    {
        lock (gate)
        {
            return _entries;
        }
    }

    /// <summary>Adds a handler for the items <paramref name="filter"/> accepts (all when null); dispose the result to remove it.</summary>
    public IDisposable AddHandler(Func<T, bool>? filter, Action<T> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var registration = new Registration(this);
        Add(new Entry(filter, handler, registration));
        return registration;
    }

    /// <summary>Adds a buffered subscription; it removes itself through <see cref="Remove"/>.</summary>
    public void AddSubscription(Func<T, bool>? filter, BufferedSubscription<T> subscription) =>
        Add(new Entry(filter, null, subscription));

    public void Remove(object owner)
    {
        lock (gate)
        {
            _entries = Array.FindAll(_entries, e => e.Owner != owner);
        }
    }

    /// <summary>Removes everyone; buffered subscriptions end once their buffered items are read.</summary>
    public void CompleteAll()
    {
        Entry[] entries;
        lock (gate)
        {
            entries = _entries;
            _entries = [];
        }

        foreach (var entry in entries)
        {
            entry.Stream?.Complete();
        }
    }

    /// <summary>
    /// Delivers <paramref name="items"/> in order to <paramref name="snapshot"/>: buffered subscriptions at once
    /// (<paramref name="full"/> for each item one could not take), handlers on the event dispatcher (a handler that
    /// throws is reported to <paramref name="handlerFailed"/> and the others still run).
    /// </summary>
    public void Deliver(Entry[] snapshot, IReadOnlyList<T> items, Action<T, BufferedSubscription<T>> full, Action<Exception> handlerFailed)
    {
        List<Entry>? handlers = null;
        foreach (var entry in snapshot)
        {
            if (entry.Stream is { } stream)
            {
                foreach (var item in items)
                {
                    if (entry.Matches(item) && !stream.TryWrite(item))
                    {
                        full(item, stream);
                    }
                }
            }
            else
            {
                (handlers ??= []).Add(entry);
            }
        }

        if (handlers is not null)
        {
            events.Post(() =>
            {
                foreach (var item in items)
                {
                    foreach (var handler in handlers)
                    {
                        if (handler.Matches(item))
                        {
                            try
                            {
                                handler.Handler!(item);
                            }
                            catch (Exception ex)
                            {
                                handlerFailed(ex);
                            }
                        }
                    }
                }
            });
        }
    }

    private void Add(Entry entry)
    {
        lock (gate)
        {
            _entries = [.. _entries, entry];
        }
    }

    internal sealed record Entry(Func<T, bool>? Filter, Action<T>? Handler, object Owner)
    {
        public BufferedSubscription<T>? Stream => Owner as BufferedSubscription<T>;

        public bool Matches(T item) => Filter is null || Filter(item);
    }

    private sealed class Registration(SubscriberList<T> list) : IDisposable
    {
        public void Dispose() => list.Remove(this);
    }
}
