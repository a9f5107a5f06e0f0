using System.Threading.Channels;

namespace TokenWire.Client;

/// <summary>
/// What every subscription read as <c>await foreach</c> shares: items are buffered in a bounded channel from the
/// moment the subscription is created, so nothing arriving after the subscribe call is missed even if enumeration
/// starts later; ending the enumeration (or disposing) unsubscribes; the connection never waits for a slow reader —
/// when the buffer is full new items are dropped and counted.
/// </summary>
public abstract class BufferedSubscription<T> : IAsyncEnumerable<T>, IAsyncDisposable, IDisposable
{
    private readonly Channel<T> _buffer;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenRegistration _registration;
    private long _dropped;
    private int _enumerated;

    private protected BufferedSubscription(int capacity, CancellationToken cancellationToken)
    {
        _cancellationToken = cancellationToken;
        _buffer = Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
        {
            SingleReader = false,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _registration = cancellationToken.Register(static state => ((BufferedSubscription<T>)state!).Dispose(), this);
    }

    /// <summary>The buffer, for consumers that prefer <c>ReadAsync</c>/<c>TryRead</c> to <c>await foreach</c>.</summary>
    public ChannelReader<T> Reader => _buffer.Reader;

    /// <summary>Items dropped because the buffer was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Enumerates until the subscription is disposed (ends normally) or cancelled (throws).</summary>
    /// <exception cref="InvalidOperationException">Enumerated a second time.</exception>
    public async IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException($"A {GetType().Name} can be enumerated once; subscribe again for another reader.");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellationToken);
        try
        {
            while (await _buffer.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
            {
                while (_buffer.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Unsubscribes; items already buffered can still be read.</summary>
    public void Dispose()
    {
        Unsubscribe();
        _buffer.Writer.TryComplete();
        _registration.Dispose();
        GC.SuppressFinalize(this);
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Called on the connection's read loop; never waits.</summary>
    internal bool TryWrite(T item)
    {
        if (_buffer.Writer.TryWrite(item))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    internal void Complete() => _buffer.Writer.TryComplete();

    /// <summary>Removes the subscription from its source; may be called more than once.</summary>
    private protected abstract void Unsubscribe();
}
