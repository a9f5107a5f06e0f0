namespace TokenWire.Server.Fanout;

/// <summary>Where a channel delivers frames for one subscribed transport.</summary>
public interface IFrameSink
{
    string ConnectionId { get; }

    /// <summary>False when the client asked not to receive its own messages (<c>echo=false</c>).</summary>
    bool EchoMessages { get; }

    /// <summary>Queues a frame without blocking. A full queue ends the transport (slow consumer); never throws.</summary>
    void Enqueue(EncodedFrame frame);
}
