using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;

namespace TokenWire.Client.Internal;

/// <summary>
/// One WebSocket to the server: a read loop that decodes frames and hands each to the connection in arrival order,
/// and an unbounded outbound queue drained by one writer loop, so senders (publishes under the connection lock)
/// never wait on the socket. The transport ends once, with a reason: socket closed or failed, or
/// <see cref="Abort"/> by the connection (DISCONNECTED, ERROR, idle timeout, close).
/// </summary>
internal sealed class WebSocketTransport : IDisposable
{
    /// <summary>Upper bound on one inbound frame; the server's own maxFrameSize is 512 KiB, this only guards memory.</summary>
    private const int MaxInboundFrameBytes = 16 * 1024 * 1024;

    /// <summary>Receive buffer growth step; most frames (a token, an ACK) are far smaller.</summary>
    private const int ReceiveChunk = 8192;

    private static int s_nextId;

    private readonly ClientWebSocket _socket = new();
    private readonly IProtocolCodec _codec;
    private readonly ILogger _logger;
    private readonly Channel<ProtocolMessage> _outbound = Channel.CreateUnbounded<ProtocolMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<ErrorInfo> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastActivityTicks = Environment.TickCount64;

    public WebSocketTransport(IProtocolCodec codec, ILogger logger)
    {
        _codec = codec;
        _logger = logger;
        Id = Interlocked.Increment(ref s_nextId);

        // Ably liveness is protocol-level (HEARTBEAT frames, requested with heartbeats=true); WebSocket pings are
        // answered by the runtime but not surfaced, so they cannot feed the idle timer.
        _socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
    }

    public int Id { get; }

    /// <summary>Completes when both loops have stopped, with the reason the transport ended.</summary>
    public Task<ErrorInfo> Completion { get; private set; } = Task.FromResult(ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Transport not started"));

    /// <summary>Cancelled when the transport ends.</summary>
    public CancellationToken Stopping => _stop.Token;

    /// <summary><see cref="Environment.TickCount64"/> of the last inbound frame.</summary>
    public long LastActivityTicks => Volatile.Read(ref _lastActivityTicks);

    public Task ConnectAsync(Uri uri, CancellationToken cancellationToken) => _socket.ConnectAsync(uri, cancellationToken);

    /// <summary>Starts the loops; <paramref name="onFrame"/> runs on the read loop, one frame at a time.</summary>
    public void Start(Action<WebSocketTransport, ProtocolMessage> onFrame)
    {
        Volatile.Write(ref _lastActivityTicks, Environment.TickCount64);
        var writer = WriteLoopAsync();
        Completion = RunAsync(onFrame, writer);
    }

    /// <summary>Queues a frame; false once the transport has ended (the caller keeps it pending for the next one).</summary>
    public bool Send(ProtocolMessage message) => _outbound.Writer.TryWrite(message);

    /// <summary>Ends the transport now; the first reason given wins.</summary>
    public void Abort(ErrorInfo reason)
    {
        if (_ended.TrySetResult(reason))
        {
            ClientLog.TransportEnded(_logger, Id, reason.ToString());
        }

        _outbound.Writer.TryComplete();
        try
        {
            _stop.Cancel();
            _socket.Abort();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: nothing left to stop.
        }
    }

    public void Dispose()
    {
        Abort(ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Transport disposed"));
        _socket.Dispose();
    }

    private async Task<ErrorInfo> RunAsync(Action<WebSocketTransport, ProtocolMessage> onFrame, Task writer)
    {
        var reason = await ReadLoopAsync(onFrame).ConfigureAwait(false);
        Abort(reason);
        await writer.ConfigureAwait(false);
        return await _ended.Task.ConfigureAwait(false);
    }

    private async Task<ErrorInfo> ReadLoopAsync(Action<WebSocketTransport, ProtocolMessage> onFrame)
    {
        var buffer = new ArrayBufferWriter<byte>(ReceiveChunk);
        var token = _stop.Token;
        try
        {
            while (true)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.GetMemory(ReceiveChunk), token).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, $"Connection closed by the server ({_socket.CloseStatus})");
                    }

                    buffer.Advance(result.Count);
                    if (buffer.WrittenCount > MaxInboundFrameBytes)
                    {
                        return ErrorCodes.Create(ErrorCodes.ProtocolError, $"Inbound frame larger than {MaxInboundFrameBytes} bytes");
                    }
                }
                while (!result.EndOfMessage);

                Volatile.Write(ref _lastActivityTicks, Environment.TickCount64);
                ProtocolMessage message;
                try
                {
                    message = _codec.Decode(buffer.WrittenMemory);
                }
                catch (ProtocolException ex)
                {
                    ClientLog.MalformedFrame(_logger, Id, ex.Message);
                    return ErrorCodes.Create(ErrorCodes.ProtocolError, "Malformed frame from the server: " + ex.Message);
                }

                ClientLog.FrameReceived(_logger, Id, message.Action, message.Channel, message.MsgSerial);
                onFrame(this, message);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            return ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Connection to the server lost: " + ex.Message);
        }
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(ReceiveChunk);
        var type = _codec.Format == WireFormat.MessagePack ? WebSocketMessageType.Binary : WebSocketMessageType.Text;
        var reader = _outbound.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    buffer.ResetWrittenCount();
                    _codec.Write(message, buffer);
                    await _socket.SendAsync(buffer.WrittenMemory, type, endOfMessage: true, _stop.Token).ConfigureAwait(false);
                    ClientLog.FrameSent(_logger, Id, message.Action, message.Channel, message.MsgSerial);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            Abort(ErrorCodes.Create(ErrorCodes.ConnectionDisconnected, "Sending to the server failed: " + ex.Message));
        }
    }
}
