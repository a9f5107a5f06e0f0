using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Presence events read as <c>await foreach</c>, buffered from the moment <see cref="RealtimePresence.SubscribeAsync"/>
/// returns (see <see cref="BufferedSubscription{T}"/>); when the buffer is full new events are dropped and counted.
/// </summary>
public sealed class PresenceSubscription : BufferedSubscription<PresenceMessage>
{
    private readonly RealtimePresence _presence;

    internal PresenceSubscription(RealtimePresence presence, PresenceAction? action, int capacity, CancellationToken cancellationToken)
        : base(capacity, cancellationToken)
    {
        _presence = presence;
        Action = action;
    }

    /// <summary>The action this subscription filters on; null for all.</summary>
    public PresenceAction? Action { get; }

    private protected override void Unsubscribe() => _presence.Unsubscribe(this);
}
