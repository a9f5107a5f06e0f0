using System.Buffers;
using System.Net.WebSockets;
using TokenWire.Protocol;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Connections;

/// <summary>
/// One WebSocket carrying a <see cref="RealtimeConnection"/>: a read loop that handles inbound ProtocolMessages in
/// order, the <see cref="ConnectionEgress"/> that writes everything it sends, heartbeats, and this transport's channel
/// attachments. A full egress queue or a failed write ends this transport only; the client resumes and is replayed
/// what it missed.
/// </summary>
public sealed partial class RealtimeTransport : IFrameSink
{
    private readonly WebSocket _socket;
    private readonly RealtimeServices _services;
    private readonly IProtocolCodec _codec;
    private readonly ConnectionEgress _egress;
    private readonly CancellationTokenSource _stop = new();
    /// <summary>How long a closing transport waits for the client's half of the close handshake.</summary>
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly bool _heartbeats;
    private readonly InboundRateLimiter _inboundRate;
    private readonly AcknowledgementQueue _acknowledgements;

    public RealtimeTransport(WebSocket socket, WireFormat format, bool echoMessages, bool heartbeats, RealtimeConnection connection, RealtimeServices services)
    {
        _socket = socket;
        _services = services;
        Format = format;
        EchoMessages = echoMessages;
        _heartbeats = heartbeats;
        Connection = connection;
        _codec = ProtocolCodecs.For(format);
        _inboundRate = new InboundRateLimiter(services.Options.Limits.MaxInboundRate, services.Options.Limits.InboundBurst, services.Time);
        _acknowledgements = new AcknowledgementQueue(Send, services.Logger, connection.Id);
        _egress = new ConnectionEgress(format, services.Options.Limits.OutboundQueueBytes, services.Options.Limits.MaxOutboundRate, services.Time);
    }

    public RealtimeConnection Connection { get; }

    public WireFormat Format { get; }

    public string ConnectionId => Connection.Id;

    public bool EchoMessages { get; }

    /// <summary>This connection's <c>appendRollupWindow</c> for the appends it publishes (<see cref="AppendRollup"/>).</summary>
    public TimeSpan AppendRollupWindow { get; init; } = AppendRollup.DefaultWindow;

    public void Enqueue(EncodedFrame frame)
    {
        if (!_egress.TryEnqueue(frame))
        {
            EndSlowConsumer();
        }
    }

    public void Enqueue(MessageBatch batch)
    {
        if (!_egress.TryEnqueue(batch))
        {
            EndSlowConsumer();
        }
    }

    public ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken) => _egress.EnqueueReplayAsync(batch, cancellationToken);

    private void EndSlowConsumer()
    {
        if (!_stop.IsCancellationRequested)
        {
            SlowConsumer(_services.Logger, ConnectionId, _services.Options.Limits.OutboundQueueBytes);
            Abort();
        }
    }

    public void Send(ProtocolMessage message) => Enqueue(new EncodedFrame(message));

    /// <summary>Ends the transport without a closing handshake (slow consumer, replaced by a resume).</summary>
    public void Abort()
    {
        _egress.Complete();
        _stop.Cancel();
        _socket.Abort();
    }

    /// <summary>Sends <paramref name="final"/> (DISCONNECTED, ERROR, CLOSED), then closes the socket.</summary>
    public void SendAndClose(ProtocolMessage final)
    {
        Send(final);
        _egress.Complete();
    }

    /// <summary>Runs the transport until the socket closes; returns when both loops have ended.</summary>
    public async Task RunAsync(CancellationToken hostStopping)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hostStopping, _stop.Token);
        var writer = WriteLoopAsync(linked.Token);
        var heartbeat = _heartbeats ? HeartbeatLoopAsync(linked.Token) : Task.CompletedTask;
        try
        {
            await ReadLoopAsync(linked.Token).ConfigureAwait(false);
        }
        finally
        {
            _egress.Complete();
            DetachAll();
            await writer.ConfigureAwait(false);
            await DrainUntilClosedAsync().ConfigureAwait(false);
            await _stop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
            _expiryTimer?.Dispose();
            var now = _services.Time.GetUtcNow();
            if (Connection.Unbind(this, now))
            {
                _services.Live.Remove(Connection);
                _services.Presence.ScheduleLeave(Connection);
                await MarkDisconnectedAsync(now).ConfigureAwait(false);
            }
        }
    }

    private async Task ReadLoopAsync(CancellationToken cancellationToken)
    {
        var maxFrame = _services.Options.Limits.MaxFrameSize;
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                buffer.ResetWrittenCount();
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await _socket.ReceiveAsync(buffer.GetMemory(4096), cancellationToken).ConfigureAwait(false);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    buffer.Advance(result.Count);
                    if (buffer.WrittenCount > maxFrame)
                    {
                        Fail(ErrorCodes.Create(ErrorCodes.MessageTooLarge, $"Frame larger than the maximum of {maxFrame} bytes"));
                        return;
                    }
                }
                while (!result.EndOfMessage);

                ProtocolMessage message;
                try
                {
                    message = _codec.Decode(buffer.WrittenMemory);
                }
                catch (ProtocolException ex)
                {
                    MalformedFrame(_services.Logger, ConnectionId, ex.Error.Message);
                    Fail(ex.Error);
                    return;
                }

                if (!await HandleAsync(message, cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
            // Abrupt disconnect: the connection stays resumable.
        }
    }

    /// <summary>Handles one inbound message; false when the transport should stop reading.</summary>
    private async ValueTask<bool> HandleAsync(ProtocolMessage message, CancellationToken cancellationToken)
    {
        await Connection.InboundGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            switch (message.Action)
            {
                case ProtocolAction.Heartbeat:
                    // connection.ping(): echo the id back.
                    Send(new ProtocolMessage(ProtocolAction.Heartbeat) { Id = message.Id });
                    return true;
                case ProtocolAction.Attach:
                    await HandleAttachAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Detach:
                    await HandleDetachAsync(message).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Message:
                    await HandlePublishAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Presence:
                    await HandlePresenceAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Sync:
                    await HandleSyncRequestAsync(message, cancellationToken).ConfigureAwait(false);
                    return true;
                case ProtocolAction.Annotation or ProtocolAction.Object:
                    Nack(message, ErrorCodes.Create(ErrorCodes.BadRequest, $"{message.Action} is not supported by this server yet"));
                    return true;
                case ProtocolAction.Close:
                    // A clean close ends the connection: its presence members leave now (reference §4.10).
                    await _services.Presence.LeaveAsync(Connection, channel: null).ConfigureAwait(false);
                    await RemoveConnectionAsync().ConfigureAwait(false);
                    SendAndClose(new ProtocolMessage(ProtocolAction.Closed));
                    return false;
                case ProtocolAction.Disconnect:
                    SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected));
                    return false;
                case ProtocolAction.Auth:
                    HandleAuth(message, _services.Authenticator);
                    return true;
                case ProtocolAction.Activate:
                    return true;
                default:
                    Fail(ErrorCodes.Create(ErrorCodes.ProtocolError, $"Unexpected protocol action {(int)message.Action} from client"));
                    return false;
            }
        }
        finally
        {
            Connection.InboundGate.Release();
        }
    }

    /// <summary>A fatal connection error: ERROR without a channel, then close (the SDK moves to FAILED).</summary>
    private void Fail(ErrorInfo error) => SendAndClose(new ProtocolMessage(ProtocolAction.Error) { Error = error });

    /// <summary>NACKs in msgSerial order: queued behind any publish of this transport still awaiting its ACK.</summary>
    private void Nack(ProtocolMessage message, ErrorInfo error)
    {
        if (message.MsgSerial is { } serial)
        {
            _acknowledgements.Nack(serial, error);
        }
    }

    /// <summary>
    /// Takes <paramref name="count"/> from the inbound rate; over it, the operation is NACKed 42911 — nonfatal, as in
    /// Ably: the connection and later operations carry on.
    /// </summary>
    private bool RateLimited(ProtocolMessage message, int count)
    {
        if (_inboundRate.TryTake(count))
        {
            return false;
        }

        Nack(message, ErrorCodes.Create(
            ErrorCodes.InboundRateLimited,
            $"Rate limit exceeded; request rejected (nonfatal); metric = connection.inboundRate; permitted rate = {_services.Options.Limits.MaxInboundRate}/s"));
        return true;
    }

    private async Task WriteLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _egress.WriteAllAsync(_socket, cancellationToken).ConfigureAwait(false);

            // Queue completed: a final frame was sent, or the read side ended. Close politely if still open.
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
            }

            // Let the read side see the client's Close. Cancelling a pending receive aborts the socket, and a reset
            // can make the client drop the final frame (DISCONNECTED 40142, ERROR, CLOSED) before it reads it.
            _stop.CancelAfter(CloseHandshakeTimeout);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            _socket.Abort();
            await _stop.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads and discards until the client's Close arrives (or a timeout), so closing never resets unread data.</summary>
    private async Task DrainUntilClosedAsync()
    {
        var scratch = new byte[1024];
        using var timeout = new CancellationTokenSource(CloseHandshakeTimeout);
        try
        {
            while (_socket.State == WebSocketState.CloseSent)
            {
                var result = await _socket.ReceiveAsync(scratch.AsMemory(), timeout.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away without a Close: nothing left to protect.
        }
    }

    /// <summary>
    /// For <c>heartbeats=true</c> clients (browsers cannot see ping frames): a HEARTBEAT when nothing else was sent
    /// for half the announced maxIdleInterval. Other clients get WebSocket pings (see UseWebSockets).
    /// </summary>
    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        var half = _services.Options.Connection.MaxIdleInterval / 2;
        using var timer = new PeriodicTimer(half, _services.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Environment.TickCount64 - _egress.LastWriteTicks >= half.TotalMilliseconds)
                {
                    Send(new ProtocolMessage(ProtocolAction.Heartbeat));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
