using System.Net.WebSockets;
using TokenWire.Protocol;

namespace TokenWire.Server.Connections;

/// <summary>
/// Where a <see cref="ConnectionEgress"/> writes its frames: a WebSocket (one message per frame) or a comet transport's
/// responses (<see cref="CometWire"/>, which gathers frames into one JSON or MessagePack array per poll).
/// </summary>
internal interface IEgressWire
{
    /// <summary>Writes one encoded ProtocolMessage; the bytes are only valid until this returns.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken);

    /// <summary>The egress queue is drained for now: what was written may go out together.</summary>
    void Flush();
}

/// <summary>Each frame as one WebSocket message: text for JSON, binary for MessagePack.</summary>
internal sealed class WebSocketWire(WebSocket socket, WireFormat format) : IEgressWire
{
    private readonly WebSocketMessageType _type = format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken) =>
        socket.SendAsync(frame, _type, endOfMessage: true, cancellationToken);

    public void Flush()
    {
    }
}
