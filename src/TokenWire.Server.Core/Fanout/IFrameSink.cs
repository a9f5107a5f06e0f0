namespace TokenWire.Server.Fanout;

/// <summary>Where a channel delivers to one subscribed transport: the connection's egress.</summary>
public interface IFrameSink
{
    string ConnectionId { get; }

    /// <summary>False when the client asked not to receive its own messages (<c>echo=false</c>).</summary>
    bool EchoMessages { get; }

    /// <summary>Queues a frame without blocking. A full queue ends the transport (slow consumer); never throws.</summary>
    void Enqueue(EncodedFrame frame);

    /// <summary>Queues a channel's messages without blocking; the egress may bundle them with the channel's next ones.</summary>
    void Enqueue(MessageBatch batch);

    /// <summary>
    /// Queues replayed messages (resume, rewind) once the queue has drained below half its bound, and then whatever its
    /// size: a replay longer than the bound is paced by the client's reading instead of ending the transport again
    /// and again. The bound is exceeded by at most one batch.
    /// </summary>
    ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken);
}
