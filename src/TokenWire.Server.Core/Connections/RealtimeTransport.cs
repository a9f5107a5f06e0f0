using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Fanout;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>
/// One WebSocket carrying a <see cref="RealtimeConnection"/>: the read loop that decodes inbound frames and hands
/// them, in order, to its <see cref="RealtimeSession"/>; the <see cref="ConnectionEgress"/> that writes everything it
/// sends; heartbeats and, where its stream allows, WebSocket pings from the node's wheel; the closing handshake. A full
/// egress queue or a failed write ends this transport only: the client resumes and is replayed what it missed.
/// </summary>
public sealed partial class RealtimeTransport : IRealtimeTransport
{
    /// <summary>How long a closing transport waits for the client's half of the close handshake.</summary>
    private static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(5);

    private readonly WebSocket _socket;
    private readonly RealtimeServices _services;
    private readonly IProtocolCodec _codec;
    private readonly ConnectionEgress _egress;

    /// <summary>
    /// The transport's one cancellation source: its loops and handlers end when it is cancelled. Nothing registers on
    /// it while the connection is idle (see <see cref="_abortEndsReceive"/>); timed ends (the close handshake, the drain
    /// deadline) are <see cref="StopAfter"/>.
    /// </summary>
    private readonly CancellationTokenSource _stop = new();

    /// <summary>
    /// Aborting the socket ends a pending receive by itself (the fast path's pipe stream), so the read loop's receives
    /// carry no token: a token would cost a registration on it and another on the pipe read, per idle connection.
    /// Otherwise (Kestrel's upgrade stream) the receives carry <see cref="_stop"/>'s token, as the stream needs it.
    /// </summary>
    private readonly bool _abortEndsReceive;

    /// <summary>The app's stats counters, kept so that each delivery costs no lookup.</summary>
    private readonly StatsCounters _stats;

    private readonly bool _heartbeats;

    /// <summary>Sends this socket's pings for the <see cref="HeartbeatWheel"/> (the fast path's stream); null where the WebSocket keeps itself alive.</summary>
    private readonly IWebSocketPinger? _pinger;

    /// <summary><see cref="Environment.TickCount64"/> of the first ping the peer has not answered since; 0 when none is outstanding.</summary>
    private long _unansweredPingAt;

    /// <summary><see cref="Environment.TickCount64"/> at which <see cref="_stop"/> is due to be cancelled; 0 when not scheduled.</summary>
    private long _stopAt;

    /// <summary>1 once <see cref="_stop"/> aborts the socket when cancelled (armed only when a timed stop is scheduled).</summary>
    private int _abortOnStop;

    /// <summary>Set before this transport aborts its own socket, so the read loop does not take the abort for refused input.</summary>
    private volatile bool _abortedHere;

    /// <summary>The WebSocket refused the client's input and aborted: see <see cref="LingerAsync"/>.</summary>
    private bool _refusedInput;

    /// <summary>1 once a closing frame was queued or the transport aborted: closing is one-shot, later sends are dropped.</summary>
    private int _closing;

    /// <summary>
    /// The short strings this connection's frames repeat (<see cref="RecentStrings"/>); made by its first MESSAGE or
    /// PRESENCE, so a connection that only subscribes keeps none. Only the read loop touches it.
    /// </summary>
    private RecentStrings? _strings;

    /// <param name="appendRollupWindow">This connection's <c>appendRollupWindow</c> for the appends it publishes.</param>
    /// <param name="abortEndsReceive">Whether <see cref="WebSocket.Abort"/> ends a pending receive without a token (true for the fast path's pipe stream).</param>
    /// <param name="pinger">The socket's stream, when the wheel is to send its pings (the WebSocket then has no keep-alive of its own).</param>
    public RealtimeTransport(WebSocket socket, WireFormat format, bool echoMessages, bool heartbeats, TimeSpan appendRollupWindow, RealtimeConnection connection, RealtimeServices services, bool abortEndsReceive = false, IWebSocketPinger? pinger = null)
    {
        _socket = socket;
        _pinger = pinger;
        _abortEndsReceive = abortEndsReceive;
        _services = services;
        _heartbeats = heartbeats;
        _codec = ProtocolCodecs.For(format);
        _egress = new ConnectionEgress(format, services.Options.Limits.OutboundQueueBytes, services.Options.Limits.MaxOutboundRate, services.Time, services.MessageMetrics);
        Format = format;
        EchoMessages = echoMessages;
        Connection = connection;
        Session = new RealtimeSession(this, connection, services, appendRollupWindow);
        _stats = services.Stats.For(connection.Auth.App.Id);
    }

    public RealtimeConnection Connection { get; }

    /// <summary>What the inbound frames mean: dispatch, attachments, ACKs, auth.</summary>
    public RealtimeSession Session { get; }

    public WireFormat Format { get; }

    public string ConnectionId => Connection.Id;

    public bool EchoMessages { get; }

    /// <summary>Bytes waiting in this transport's outbound queue.</summary>
    public long QueuedBytes => _egress.QueuedBytes;

    /// <summary>True once the transport is closing: its closing frame is queued (or it was aborted).</summary>
    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    public void Enqueue(EncodedFrame frame)
    {
        if (IsClosing)
        {
            DroppedAfterClose(_services.Logger, ConnectionId, frame.Message.Action);
        }
        else if (!_egress.TryEnqueue(frame))
        {
            EndSlowConsumer();
        }
        else
        {
            CountOutbound(frame);
        }
    }

    public void Enqueue(MessageBatch batch)
    {
        // Deliveries racing the close: the client resumes and is replayed them.
        if (IsClosing)
        {
            return;
        }

        if (!_egress.TryEnqueue(batch))
        {
            EndSlowConsumer();
            return;
        }

        OutboundStats.Count(_stats, batch, Format);
    }

    private void CountOutbound(EncodedFrame frame) => OutboundStats.Count(_stats, frame, Format);

    public ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken)
    {
        OutboundStats.Count(_stats, batch, Format);
        return _egress.EnqueueReplayAsync(batch, cancellationToken);
    }

    public void Send(ProtocolMessage message) => Enqueue(new EncodedFrame(message));

    /// <summary>
    /// Written by the calling thread (the read loop, for an in-memory append) when the egress is idle: an ACK per
    /// publish is then no wake-up of the writer's thread; otherwise a copy is queued behind what is there (the answer
    /// is lent: see <see cref="IRealtimeTransport.SendAnswer"/>).
    /// </summary>
    public void SendAnswer(ProtocolMessage answer)
    {
        if (IsClosing)
        {
            DroppedAfterClose(_services.Logger, ConnectionId, answer.Action);
            return;
        }

        bool written;
        Task? pending;
        try
        {
            written = _egress.TryWriteNow(answer, _stop.Token, out pending);
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            _ = WriteFailedAsync();
            return;
        }

        if (!written)
        {
            Send(AcknowledgementQueue.Keep(answer));
        }
        else if (pending is not null)
        {
            _ = ObserveAsync(pending);
        }
    }

    private async Task ObserveAsync(Task directWrite)
    {
        try
        {
            await directWrite.ConfigureAwait(false);
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            await WriteFailedAsync().ConfigureAwait(false);
        }
    }

    private static bool IsWriteFailure(Exception ex) => ex is WebSocketException or OperationCanceledException or ObjectDisposedException;

    /// <summary>Nothing more can be written: what is sent from now on is dropped, not taken for a slow consumer.</summary>
    private async Task WriteFailedAsync()
    {
        Volatile.Write(ref _closing, 1);
        AbortSocket();
        await _stop.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>Ends the transport without a closing handshake (slow consumer, replaced by a resume).</summary>
    public void Abort()
    {
        Volatile.Write(ref _closing, 1);
        _abortedHere = true;

        // The socket first: a writer that saw the queue completed first would close it politely instead.
        _socket.Abort();
        _stop.Cancel();
        _egress.Complete();
    }

    /// <summary>
    /// Sends <paramref name="final"/> (DISCONNECTED, ERROR, CLOSED), then closes the socket. One-shot: only the first
    /// call (or none, after an abort) sends; false for the others, whose frame is dropped. Two events may close the same
    /// connection at once (a revocation's targets, say), and the client must see one closing frame, flushed.
    /// </summary>
    public bool SendAndClose(ProtocolMessage final)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            DroppedAfterClose(_services.Logger, ConnectionId, final.Action);
            return false;
        }

        if (!_egress.TryEnqueue(new EncodedFrame(final)))
        {
            // Already past the bound: the client resumes from what it has, as any slow consumer does.
            EndSlowConsumer();
        }

        _egress.Complete();
        return true;
    }

    /// <summary>A fatal connection error: ERROR without a channel, then close (the SDK moves to FAILED).</summary>
    public void Fail(ErrorInfo error) => _ = SendAndClose(new ProtocolMessage(ProtocolAction.Error) { Error = error });

    /// <summary>
    /// What a node that is shutting down tells its clients (and refuses new connections with), in DISCONNECTED: 80003,
    /// Ably's code for the server cycling a connection. A connected ably-js client reconnects at once on any DISCONNECTED
    /// that is not a token error (RTN15h3) and resumes; the code is also among those it retries while connecting, and
    /// with statusCode 503 (above 500) it moves to a fallback host at once when it has any (each node, say).
    /// </summary>
    public static ErrorInfo ShuttingDown() => new(ErrorCodes.ConnectionDisconnected, 503, "Server shutting down; reconnect to resume the connection on another server");

    /// <summary>
    /// Ends the transport because this node is shutting down: DISCONNECTED (<see cref="ShuttingDown"/>) after what is
    /// already queued, then the closing handshake. A transport not closed within ShutdownDrainTimeout is aborted.
    /// </summary>
    public void Drain()
    {
        SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = ShuttingDown() });
        StopAfter(_services.Options.ShutdownDrainTimeout);
    }

    /// <summary>
    /// Cancels <see cref="_stop"/> after <paramref name="delay"/>, unless it is already due sooner (a draining transport
    /// keeps its deadline when its close handshake starts, and the reverse). Where the receives carry no token, the
    /// cancellation aborts the socket, as a cancelled receive would.
    /// </summary>
    private void StopAfter(TimeSpan delay)
    {
        if (_abortEndsReceive && Interlocked.Exchange(ref _abortOnStop, 1) == 0)
        {
            _stop.Token.UnsafeRegister(static transport => ((RealtimeTransport)transport!).AbortSocket(), this);
        }

        var at = Environment.TickCount64 + (long)delay.TotalMilliseconds;
        long scheduled;
        do
        {
            scheduled = Volatile.Read(ref _stopAt);
            if (scheduled != 0 && scheduled <= at)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _stopAt, at, scheduled) != scheduled);

        _stop.CancelAfter(delay);
    }

    private void AbortSocket()
    {
        _abortedHere = true;
        _socket.Abort();
    }

    private void EndSlowConsumer()
    {
        if (!_stop.IsCancellationRequested)
        {
            SlowConsumer(_services.Logger, ConnectionId, _services.Options.Limits.OutboundQueueBytes);
            _services.ConnectionMetrics.SlowConsumerDisconnected();
            Abort();
        }
    }

    /// <summary>Runs the transport until the socket closes; returns when both loops have ended.</summary>
    /// <param name="drainRequested">The node is shutting down: <see cref="Drain"/>.</param>
    /// <param name="connectionClosed">The connection under the socket has closed (the request's <c>RequestAborted</c>).</param>
    public async Task RunAsync(CancellationToken drainRequested, CancellationToken connectionClosed)
    {
        var writer = WriteLoopAsync();
        if (_heartbeats || _pinger is not null)
        {
            _services.Heartbeats.Add(this);
        }

        // Runs at once if the drain began while this transport was being set up.
        using var draining = drainRequested.Register(static transport => ((RealtimeTransport)transport!).Drain(), this);

        // The read loop runs in this method, not in one it awaits: one state machine per connection, not two.
        var maxFrame = _services.Options.Limits.MaxFrameSize;
        var receiveToken = _abortEndsReceive ? CancellationToken.None : _stop.Token;
        var buffer = new PooledBufferWriter();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                // Wait for the next frame without a buffer (a zero-byte read): an idle connection holds no receive
                // memory, and a frame's buffer is rented from the shared pool only while it is being read.
                var result = await _socket.ReceiveAsync(Memory<byte>.Empty, receiveToken).ConfigureAwait(false);
                while (true)
                {
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }

                    buffer.Advance(result.Count);
                    if (buffer.WrittenMemory.Length > maxFrame)
                    {
                        Fail(ErrorCodes.Create(ErrorCodes.MessageTooLarge, $"Frame larger than the maximum of {maxFrame} bytes"));
                        return;
                    }

                    if (result.EndOfMessage)
                    {
                        break;
                    }

                    result = await _socket.ReceiveAsync(buffer.GetMemory(4096), receiveToken).ConfigureAwait(false);
                }

                ProtocolMessage message;
                try
                {
                    // The decoded message copies what it keeps, so the buffer goes back to the pool at once.
                    message = _codec.Decode(buffer.WrittenMemory, _strings);
                    if (_strings is null && message.Action is ProtocolAction.Message or ProtocolAction.Presence)
                    {
                        _strings = new RecentStrings();
                    }
                }
                catch (ProtocolException ex)
                {
                    MalformedFrame(_services.Logger, ConnectionId, ex.Error.Message);
                    Fail(ex.Error);
                    return;
                }
                finally
                {
                    buffer.Reset();
                }

                if (!await Session.HandleAsync(message, _stop.Token).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException ex) when (ex.WebSocketErrorCode != WebSocketError.ConnectionClosedPrematurely && _socket.State == WebSocketState.Aborted && !_abortedHere && !_stop.IsCancellationRequested)
        {
            // The WebSocket refused the client's input (invalid UTF-8 in a text frame: 1007; a malformed frame: 1002):
            // it has sent its close frame and aborted.
            _refusedInput = true;
        }
        catch (WebSocketException)
        {
            // Abrupt disconnect: the connection stays resumable.
        }
        finally
        {
            buffer.Reset();
            Volatile.Write(ref _closing, 1);
            _egress.Complete();
            Session.DetachAll();
            await writer.ConfigureAwait(false);
            await DiscardUntilClosedAsync(_stop.Token).ConfigureAwait(false);
            await _stop.CancelAsync().ConfigureAwait(false);
            _services.Heartbeats.Remove(this);
            await Session.TransportEndedAsync().ConfigureAwait(false);
            if (_refusedInput)
            {
                await LingerAsync(connectionClosed).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            // The fast path's stream both pings and buffers writes (DuplexPipeStream).
            await _egress.WriteAllAsync(_socket, _stop.Token, _pinger as IWebSocketBackpressure).ConfigureAwait(false);

            // Queue completed: a final frame was sent, or the read side ended. Close politely if still open.
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token).ConfigureAwait(false);
            }

            // Let the read side see the client's Close. Cancelling a pending receive aborts the socket, and a reset
            // can make the client drop the final frame (DISCONNECTED 40142, ERROR, CLOSED) before it reads it.
            StopAfter(CloseHandshakeTimeout);
        }
        catch (Exception ex) when (IsWriteFailure(ex))
        {
            await WriteFailedAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads and discards until the client's Close arrives (or a timeout), so closing never resets unread data.</summary>
    private async Task DiscardUntilClosedAsync(CancellationToken cancellationToken)
    {
        var scratch = new byte[1024];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CloseHandshakeTimeout);
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
    /// After the WebSocket refused the client's input, keeps the TCP connection open until the client closes it (it does
    /// once it has read the close frame) or <see cref="CloseHandshakeTimeout"/> passes. Closing at once, with the
    /// client's next frames arriving or unread, makes the kernel answer with a reset, and a reset can overtake the
    /// close frame still unread in the client's buffer: the client then sees 1006 (no close frame) instead of the code.
    /// </summary>
    private static async Task LingerAsync(CancellationToken connectionClosed)
    {
        try
        {
            await Task.Delay(CloseHandshakeTimeout, connectionClosed).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public void OnHeartbeatTick(TimeSpan interval)
    {
        var serverQuiet = Environment.TickCount64 - _egress.LastWriteTicks >= interval.TotalMilliseconds;
        if (_heartbeats && serverQuiet)
        {
            Send(new ProtocolMessage(ProtocolAction.Heartbeat));
        }

        if (_pinger is not null)
        {
            KeepAlive(_pinger, interval, serverQuiet);
        }
    }

    /// <summary>
    /// The WebSocket keep-alive, as the WebSocket's own timer would do it: a ping when either side has been quiet for
    /// <paramref name="interval"/> (a peer that is sending, and being sent to, is plainly there), and the transport
    /// aborted once a ping has gone unanswered — nothing at all heard from the peer since — for KeepAliveTimeout.
    /// </summary>
    private void KeepAlive(IWebSocketPinger pinger, TimeSpan interval, bool serverQuiet)
    {
        var now = Environment.TickCount64;
        var heard = pinger.LastReceivedTicks;
        var pingedAt = _unansweredPingAt;
        if (pingedAt != 0 && heard < pingedAt)
        {
            var timeout = _services.Options.Connection.KeepAliveTimeout;
            if (now - pingedAt >= timeout.TotalMilliseconds)
            {
                NoPong(_services.Logger, ConnectionId, timeout);
                Abort();
                return;
            }
        }
        else
        {
            pingedAt = 0;
        }

        if (serverQuiet || now - heard >= interval.TotalMilliseconds)
        {
            // A ping the stream could not write (the peer is not reading ours) counts as unanswered: a peer that takes
            // nothing for the timeout is gone as surely as one that answers nothing.
            pinger.SendPing();
            pingedAt = pingedAt == 0 ? now : pingedAt;
        }

        _unansweredPingAt = pingedAt;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: outbound queue full ({Limit} bytes); disconnecting slow consumer")]
    private static partial void SlowConsumer(ILogger logger, string connectionId, long limit);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId}: {Action} dropped: the transport is already closing")]
    private static partial void DroppedAfterClose(ILogger logger, string connectionId, ProtocolAction action);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: no answer to WebSocket pings within {Timeout}; dropping it (resumable)")]
    private static partial void NoPong(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId}: malformed frame: {Reason}")]
    private static partial void MalformedFrame(ILogger logger, string connectionId, string reason);
}
