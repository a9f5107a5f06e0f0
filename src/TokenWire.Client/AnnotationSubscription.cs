using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Raw annotations read as <c>await foreach</c>, buffered from the moment <see cref="RealtimeAnnotations.SubscribeAsync"/>
/// returns (see <see cref="BufferedSubscription{T}"/>); when the buffer is full new annotations are dropped and counted.
/// </summary>
public sealed class AnnotationSubscription : BufferedSubscription<Annotation>
{
    private readonly RealtimeAnnotations _annotations;

    internal AnnotationSubscription(RealtimeAnnotations annotations, string? type, int capacity, CancellationToken cancellationToken)
        : base(capacity, cancellationToken)
    {
        _annotations = annotations;
        Type = type;
    }

    /// <summary>The annotation type this subscription filters on; null for all.</summary>
    public string? Type { get; }

    private protected override void Unsubscribe() => _annotations.Unsubscribe(this);
}
