using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Annotations;

/// <summary>
/// Each message's annotations and their summary, and how applied annotations reach every node.
/// <list type="bullet">
/// <item><see cref="PublishAsync"/> takes a validated annotation (id, clientId, timestamp set by the caller) and, atomically
/// per message: stores it after the message's earlier ones with serial <see cref="AnnotationSerials.For"/>, folds it into
/// the message's <see cref="MessageSummary"/>, and publishes one <see cref="AnnotationEvent"/> to the channel's
/// subscribers on every node, in the order applied. Two nodes annotating one message at once both count.</item>
/// <item>Idempotent by annotation id per message: a repeated id is neither stored nor folded again; the event first
/// published for it is returned and nothing is published.</item>
/// <item>A message's annotations are kept for the storage's retention after its last annotation; the channel's applied
/// events (each with its <see cref="AnnotationEvent.Sequence"/>, numbered from 1 per channel without reuse) are kept for
/// the retention after they were applied, the newest <see cref="MaxRetainedEvents"/> at most.</item>
/// <item>Delivery is best-effort (a node that loses its link misses events); the stored summary is the truth.</item>
/// </list>
/// Handlers must be quick and must not throw; they may be called on the store's thread.
/// </summary>
public interface IAnnotationStore
{
    /// <summary>Applied events kept per channel for replay (a resume's gap), whatever the retention.</summary>
    const int MaxRetainedEvents = 10_000;

    ValueTask<AnnotationEvent> PublishAsync(ChannelKey channel, Annotation annotation, AnnotationStorage storage, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="limit"/> of the message's annotations from index <paramref name="start"/>, oldest first.</summary>
    ValueTask<IReadOnlyList<Annotation>> ReadAsync(ChannelKey channel, string messageSerial, int start, int limit, CancellationToken cancellationToken = default);

    /// <summary>The message's rendered summary, or null when it has no annotations.</summary>
    ValueTask<JsonPayload?> GetSummaryAsync(ChannelKey channel, string messageSerial, int maxClientIds, CancellationToken cancellationToken = default);

    /// <summary>The sequence of the channel's last applied event; 0 when none was applied, and never 0 again after one
    /// was (however long ago), so a reader can skip a channel that never had an annotation.</summary>
    ValueTask<long> GetSequenceAsync(ChannelKey channel, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="limit"/> of the channel's retained events after sequence <paramref name="after"/>, in
    /// sequence order (a gap at the start means those events are no longer retained).
    /// </summary>
    ValueTask<IReadOnlyList<AnnotationEvent>> ReadEventsAsync(ChannelKey channel, long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>Starts delivering the channel's annotation events to <paramref name="handler"/> until the result is disposed.</summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<AnnotationEvent> handler, CancellationToken cancellationToken = default);
}
