using System.Threading.Channels;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Presence events read as <c>await foreach</c>, buffered from the moment <see cref="RealtimePresence.SubscribeAsync"/>
/// returns. Like <see cref="MessageSubscription"/>, the connection never waits for a slow reader: when the buffer is
/// full new events are dropped and counted in <see cref="DroppedCount"/>. Ending the enumeration unsubscribes.
/// </summary>
public sealed class PresenceSubscription : IAsyncEnumerable<PresenceMessage>, IAsyncDisposable, IDisposable
{
    private readonly RealtimePresence _presence;
    private readonly Channel<PresenceMessage> _buffer;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenRegistration _registration;
    private long _dropped;
    private int _enumerated;

    internal PresenceSubscription(RealtimePresence presence, PresenceAction? action, int capacity, CancellationToken cancellationToken)
    {
        _presence = presence;
        Action = action;
        _cancellationToken = cancellationToken;
        _buffer = Channel.CreateBounded<PresenceMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = false,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _registration = cancellationToken.Register(static state => ((PresenceSubscription)state!).Dispose(), this);
    }

    /// <summary>The action this subscription filters on; null for all.</summary>
    public PresenceAction? Action { get; }

    /// <summary>The buffer, for consumers that prefer <c>ReadAsync</c>/<c>TryRead</c> to <c>await foreach</c>.</summary>
    public ChannelReader<PresenceMessage> Reader => _buffer.Reader;

    /// <summary>Events dropped because the buffer was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Enumerates until the subscription is disposed (ends normally) or cancelled (throws).</summary>
    /// <exception cref="InvalidOperationException">Enumerated a second time.</exception>
    public async IAsyncEnumerator<PresenceMessage> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A PresenceSubscription can be enumerated once; subscribe again for another reader.");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellationToken);
        try
        {
            while (await _buffer.Reader.WaitToReadAsync(linked.Token).ConfigureAwait(false))
            {
                while (_buffer.Reader.TryRead(out var message))
                {
                    yield return message;
                }
            }
        }
        finally
        {
            Dispose();
        }
    }

    /// <summary>Unsubscribes; events already buffered can still be read.</summary>
    public void Dispose()
    {
        _presence.Unsubscribe(this);
        _buffer.Writer.TryComplete();
        _registration.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Called on the connection's read loop; never waits.</summary>
    internal bool TryWrite(PresenceMessage message)
    {
        if (_buffer.Writer.TryWrite(message))
        {
            return true;
        }

        Interlocked.Increment(ref _dropped);
        return false;
    }

    internal void Complete() => _buffer.Writer.TryComplete();
}
