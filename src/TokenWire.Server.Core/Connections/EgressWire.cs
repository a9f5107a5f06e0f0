using System.Net.WebSockets;
using System.Runtime.CompilerServices;
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

/// <summary>
/// Each frame as one WebSocket message: text for JSON, binary for MessagePack. Where the socket's stream buffers writes
/// (<paramref name="backpressure"/>), each frame waits for the previous one to be taken before the socket rents the
/// buffer it frames it in, so a slow peer holds no rented array.
/// </summary>
internal sealed class WebSocketWire(WebSocket socket, WireFormat format, IWebSocketBackpressure? backpressure = null) : IEgressWire
{
    private readonly WebSocketMessageType _type = format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text;

    public ValueTask WriteAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        if (backpressure?.WhenWritableAsync() is { IsCompletedSuccessfully: false } wait)
        {
            return WriteAfterAsync(wait, frame, cancellationToken);
        }

        return socket.SendAsync(frame, _type, endOfMessage: true, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteAfterAsync(ValueTask wait, ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await wait.ConfigureAwait(false);
        await socket.SendAsync(frame, _type, endOfMessage: true, cancellationToken).ConfigureAwait(false);
    }

    public void Flush()
    {
    }
}
