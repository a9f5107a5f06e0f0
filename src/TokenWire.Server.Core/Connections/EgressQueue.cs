using System.Threading.Tasks.Sources;

namespace TokenWire.Server.Connections;

/// <summary>
/// The queue in front of one connection's writer: many producers (channel dispatchers, the read loop), one reader.
/// Sized for a server holding tens of thousands of mostly idle connections: an empty queue holds no array, a reader
/// waiting on it allocates nothing (this object is its own <see cref="IValueTaskSource{T}"/>), and a queue that grew
/// during a burst gives its array back once drained.
/// </summary>
internal sealed class EgressQueue : IValueTaskSource<bool>
{
    /// <summary>Capacity kept after a drain; larger arrays are released.</summary>
    private const int RetainedCapacity = 16;

    private readonly Queue<object> _items = new();
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };
    private bool _readerWaiting;
    private bool _completed;
    private int _peakCount;

    /// <summary>Adds an item; false once <see cref="Complete"/> was called.</summary>
    public bool TryWrite(object item)
    {
        lock (_items)
        {
            if (_completed)
            {
                return false;
            }

            _items.Enqueue(item);
            _peakCount = Math.Max(_peakCount, _items.Count);
            if (!_readerWaiting)
            {
                return true;
            }

            _readerWaiting = false;
        }

        _signal.SetResult(true);
        return true;
    }

    /// <summary>No more items; the reader drains what is queued and then sees the end.</summary>
    public void Complete()
    {
        lock (_items)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (!_readerWaiting)
            {
                return;
            }

            _readerWaiting = false;
        }

        _signal.SetResult(false);
    }

    /// <summary>Nothing is queued and more may be: a frame written now goes out after everything queued before it.</summary>
    public bool IsEmptyAndOpen
    {
        get
        {
            lock (_items)
            {
                return _items.Count == 0 && !_completed;
            }
        }
    }

    public bool TryRead(out object item)
    {
        lock (_items)
        {
            if (_items.TryDequeue(out item!))
            {
                return true;
            }

            if (_peakCount > RetainedCapacity)
            {
                _items.TrimExcess();
                _peakCount = 0;
            }

            return false;
        }
    }

    /// <summary>True when an item can be read; false when the queue is completed and empty. One reader at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_items)
        {
            if (_items.Count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _signal.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}
