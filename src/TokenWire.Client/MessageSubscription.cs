using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Messages of a channel read as <c>await foreach</c>, buffered from the moment <see cref="RealtimeChannel.SubscribeAsync"/>
/// returns (see <see cref="BufferedSubscription{T}"/>). When the buffer is full new messages are dropped and
/// <see cref="RealtimeChannel.MessageDropped"/> is raised.
/// </summary>
public sealed class MessageSubscription : BufferedSubscription<Message>
{
    private readonly RealtimeChannel _channel;

    internal MessageSubscription(RealtimeChannel channel, string? name, int capacity, CancellationToken cancellationToken)
        : base(capacity, cancellationToken)
    {
        _channel = channel;
        Name = name;
    }

    /// <summary>The message name this subscription filters on; null for all messages.</summary>
    public string? Name { get; }

    private protected override void Unsubscribe() => _channel.Unsubscribe(this);
}
