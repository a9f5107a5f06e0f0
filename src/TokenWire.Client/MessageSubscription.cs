using System.Threading.Channels;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// A subscription read as <c>await foreach</c>: messages are buffered in a bounded channel from the moment
/// <see cref="RealtimeChannel.SubscribeAsync"/> returns, so nothing published after that call is missed even if
/// enumeration starts later. Ending the enumeration (or disposing) unsubscribes. The connection never waits for a
/// slow consumer: when the buffer is full new messages are dropped and <see cref="RealtimeChannel.MessageDropped"/>
/// is raised.
/// </summary>
public sealed class MessageSubscription : IAsyncEnumerable<Message>, IAsyncDisposable, IDisposable
{
    private readonly RealtimeChannel _channel;
    private readonly Channel<Message> _buffer;
    private readonly CancellationToken _cancellationToken;
    private readonly CancellationTokenRegistration _registration;
    private long _dropped;
    private int _enumerated;

    internal MessageSubscription(RealtimeChannel channel, string? name, int capacity, CancellationToken cancellationToken)
    {
        _channel = channel;
        Name = name;
        _cancellationToken = cancellationToken;
        _buffer = Channel.CreateBounded<Message>(new BoundedChannelOptions(capacity)
        {
            SingleReader = false,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _registration = cancellationToken.Register(static state => ((MessageSubscription)state!).Dispose(), this);
    }

    /// <summary>The message name this subscription filters on; null for all messages.</summary>
    public string? Name { get; }

    /// <summary>The buffer, for consumers that prefer <c>ReadAsync</c>/<c>TryRead</c> to <c>await foreach</c>.</summary>
    public ChannelReader<Message> Reader => _buffer.Reader;

    /// <summary>Messages dropped because the buffer was full.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Enumerates until the subscription is disposed (ends normally) or cancelled (throws).</summary>
    /// <exception cref="InvalidOperationException">Enumerated a second time.</exception>
    public async IAsyncEnumerator<Message> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0)
        {
            throw new InvalidOperationException("A MessageSubscription can be enumerated once; subscribe again for another reader.");
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

    /// <summary>Unsubscribes; messages already buffered can still be read.</summary>
    public void Dispose()
    {
        _channel.Unsubscribe(this);
        _buffer.Writer.TryComplete();
        _registration.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Called on the connection's read loop; never waits.</summary>
    internal bool TryWrite(Message message)
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
