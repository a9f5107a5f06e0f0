namespace TokenWire.Server.Connections;

/// <summary>
/// The stream under a WebSocket, when its writes return once a frame is in its buffer rather than once the peer has
/// taken it: the sender waits here before each frame instead, so that the WebSocket, which rents a buffer per frame it
/// sends, never holds one while the peer is slow.
/// </summary>
public interface IWebSocketBackpressure
{
    /// <summary>Completes once what was written before has been taken by the peer (at once when it has).</summary>
    ValueTask WhenWritableAsync();
}
