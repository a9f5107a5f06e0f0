using TokenWire.Protocol;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Connections;

/// <summary>
/// What carries a <see cref="RealtimeConnection"/> to its client: a WebSocket (<see cref="RealtimeTransport"/>) or HTTP
/// requests (<see cref="CometTransport"/>). The session, the channels and the connection's owners see only this, so
/// one connection model (ids, keys, resume, presence, limits) serves both.
/// </summary>
public interface IRealtimeTransport : IFrameSink
{
    RealtimeConnection Connection { get; }

    WireFormat Format { get; }

    /// <summary>Bytes waiting in this transport's outbound queue.</summary>
    long QueuedBytes { get; }

    void Send(ProtocolMessage message);

    /// <summary>
    /// An ACK or NACK, which the caller sends in msgSerial order: as <see cref="Send"/>, but a transport may write it on
    /// the calling thread when nothing is queued before it. The answer is only lent for the call (the caller reuses it
    /// for the next one): a transport that keeps it, to queue it, keeps <see cref="AcknowledgementQueue.Keep"/>'s copy.
    /// </summary>
    void SendAnswer(ProtocolMessage answer);

    /// <summary>True once the transport is closing: its closing frame is queued (or it was aborted).</summary>
    bool IsClosing { get; }

    /// <summary>
    /// Sends <paramref name="final"/> (DISCONNECTED, ERROR, CLOSED), then ends the transport. One-shot: false, and the
    /// frame dropped, once the transport is closing.
    /// </summary>
    bool SendAndClose(ProtocolMessage final);

    /// <summary>A fatal connection error: ERROR without a channel, then the end (the SDK moves to FAILED).</summary>
    void Fail(ErrorInfo error);

    /// <summary>Ends the transport at once (slow consumer, replaced by a resume); the connection stays resumable.</summary>
    void Abort();

    /// <summary>
    /// Called every <paramref name="interval"/> while registered with the <see cref="HeartbeatWheel"/>: a HEARTBEAT if
    /// nothing was sent for that long, and whatever else keeps the client's link checked.
    /// </summary>
    void OnHeartbeatTick(TimeSpan interval);
}
