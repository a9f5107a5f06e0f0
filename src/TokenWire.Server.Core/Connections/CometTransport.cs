using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Server.Fanout;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Connections;

/// <summary>
/// A <see cref="RealtimeConnection"/> carried over HTTP requests, as ably-js's comet (Node) and xhr_polling (browser)
/// transports speak it: the connect request and each recv take what the egress has queued (<see cref="CometWire"/>),
/// each send's array goes to the <see cref="RealtimeSession"/> in order. The session, egress, heartbeats and resume
/// are the WebSocket's; what differs is how the client is known to be gone: a recv it dropped (frames in flight may be
/// lost, so the transport ends and the client resumes) or no recv for <c>maxIdleInterval</c>.
/// </summary>
public sealed partial class CometTransport : IRealtimeTransport
{
    /// <summary>How long the final frames (CLOSED, DISCONNECTED, ERROR) wait for a recv to take them.</summary>
    private static readonly TimeSpan FinalFramesTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How long a dropped recv leaves the transport up for the client's <c>/close</c> or <c>/disconnect</c>.</summary>
    private static readonly TimeSpan DroppedRecvGrace = TimeSpan.FromSeconds(2);

    private readonly RealtimeServices _services;
    private readonly CometTransports _registry;
    private readonly ConnectionEgress _egress;
    private readonly CometWire _wire;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Cancelled ShutdownDrainTimeout after <see cref="Drain"/>: a transport still running then is aborted.</summary>
    private readonly CancellationTokenSource _drainDeadline = new();

    /// <summary>One send at a time, in the order they arrive; the end waits for the one in progress.</summary>
    private readonly SemaphoreSlim _inbound = new(1, 1);

    /// <summary>A long poll answers after this long with nothing to send (heartbeats usually come first).</summary>
    private readonly TimeSpan _pollTimeout;

    /// <summary>Without a recv outstanding for this long the client is gone.</summary>
    private readonly TimeSpan _receiveGapTimeout;

    /// <summary>A streaming recv ends after this long (the client starts the next at once).</summary>
    private readonly TimeSpan _streamLifetime;
    /// <summary>The app's stats counters, kept so that each delivery costs no lookup.</summary>
    private readonly StatsCounters _stats;

    /// <summary>1 once a closing frame was queued or the transport aborted.</summary>
    private int _closing;
    private int _receivers;
    private long _lastReceiverTicks = Environment.TickCount64;
    private volatile bool _ended;

    internal CometTransport(WireFormat format, bool stream, bool echoMessages, TimeSpan appendRollupWindow, RealtimeConnection connection, RealtimeServices services, CometTransports registry)
    {
        _services = services;
        _registry = registry;
        var limits = services.Options.Limits;
        _egress = new ConnectionEgress(format, limits.OutboundQueueBytes, limits.MaxOutboundRate, services.Time, services.MessageMetrics);
        // A response holds at most about what a frame may (and a quarter of the queue's bound, as a bundle does).
        _wire = new CometWire(format, (int)Math.Max(64 * 1024, Math.Min(limits.OutboundQueueBytes / 4, limits.MaxFrameSize)));
        var maxIdle = services.Options.Connection.MaxIdleInterval;
        _pollTimeout = maxIdle;
        _receiveGapTimeout = maxIdle;
        _streamLifetime = maxIdle * 2;
        Format = format;
        Stream = stream;
        EchoMessages = echoMessages;
        Connection = connection;
        Key = connection.CurrentKey;
        Session = new RealtimeSession(this, connection, services, appendRollupWindow);
        _stats = services.Stats.For(connection.Auth.App.Id);
    }

    public RealtimeConnection Connection { get; }

    public RealtimeSession Session { get; }

    public WireFormat Format { get; }

    /// <summary>Recv responses stream newline-separated arrays (<c>stream</c> absent or true) instead of one array each.</summary>
    public bool Stream { get; }

    /// <summary>The connection key of this transport's CONNECTED: its recv/send URLs name it.</summary>
    public string Key { get; }

    public string ConnectionId => Connection.Id;

    public bool EchoMessages { get; }

    public long QueuedBytes => _egress.QueuedBytes;

    /// <summary>Ended or ending: its key no longer serves requests.</summary>
    public bool IsEnded => _ended || _stop.IsCancellationRequested;

    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    // Closing is one-shot, as on the WebSocket (RealtimeTransport): what is sent after the closing frame is dropped.
    public void Enqueue(EncodedFrame frame)
    {
        if (IsClosing)
        {
            return;
        }

        if (!_egress.TryEnqueue(frame))
        {
            EndSlowConsumer();
            return;
        }

        OutboundStats.Count(_stats, frame, Format);
    }

    public void Enqueue(MessageBatch batch)
    {
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

    public ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken)
    {
        OutboundStats.Count(_stats, batch, Format);
        return _egress.EnqueueReplayAsync(batch, cancellationToken);
    }

    public void Send(ProtocolMessage message) => Enqueue(new EncodedFrame(message));

    /// <inheritdoc/>
    public void SendAnswer(ProtocolMessage answer) => Send(AcknowledgementQueue.Keep(answer)); // a poll takes what is queued: no one to skip

    public bool SendAndClose(ProtocolMessage final)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return false;
        }

        if (!_egress.TryEnqueue(new EncodedFrame(final)))
        {
            EndSlowConsumer();
        }

        _egress.Complete();
        return true;
    }

    public void Fail(ErrorInfo error) => _ = SendAndClose(new ProtocolMessage(ProtocolAction.Error) { Error = error });

    public void Abort()
    {
        Volatile.Write(ref _closing, 1);
        _egress.Complete();
        _wire.Complete(discardPending: true);
        _stop.Cancel();
    }

    /// <summary>The node is shutting down: DISCONNECTED 80003 after what is queued, as a WebSocket is told.</summary>
    public void Drain()
    {
        _ = SendAndClose(new ProtocolMessage(ProtocolAction.Disconnected) { Error = RealtimeTransport.ShuttingDown() });
        _drainDeadline.CancelAfter(_services.Options.ShutdownDrainTimeout);
    }

    /// <inheritdoc/>
    /// <remarks>Comet transports are always on the wheel (ably-js asks comet for heartbeats), which also ends one
    /// whose client stopped polling.</remarks>
    public void OnHeartbeatTick(TimeSpan interval)
    {
        if (Volatile.Read(ref _receivers) == 0 && Environment.TickCount64 - Volatile.Read(ref _lastReceiverTicks) >= _receiveGapTimeout.TotalMilliseconds)
        {
            NoReceiver(_services.Logger, ConnectionId, _receiveGapTimeout);
            Abort();
            return;
        }

        if (Environment.TickCount64 - _egress.LastWriteTicks >= interval.TotalMilliseconds)
        {
            Send(new ProtocolMessage(ProtocolAction.Heartbeat));
        }
    }

    /// <summary>Runs the egress until the transport ends, then releases the connection (resumable unless closed).</summary>
    internal async Task RunAsync(CancellationToken drainRequested)
    {
        _registry.Add(this);
        _services.Heartbeats.Add(this);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, _drainDeadline.Token);
        using var draining = drainRequested.Register(static transport => ((CometTransport)transport!).Drain(), this);
        try
        {
            await _egress.WriteAllAsync(_wire, linked.Token).ConfigureAwait(false);
            _wire.Complete();

            // The final frames reach the client only with its next recv.
            await _wire.WaitTakenAsync(FinalFramesTimeout, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Write(ref _closing, 1);
            _wire.Complete(discardPending: true);
            await _stop.CancelAsync().ConfigureAwait(false);
            await _inbound.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            _ended = true;
            _inbound.Release();
            _services.Heartbeats.Remove(this);
            _registry.Remove(this);
            Session.DetachAll();
            await Session.TransportEndedAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Serves the connect request or a recv: one array of everything queued (long poll, waiting up to the poll timeout
    /// for something), or for a streaming transport an array per flush, one a line, until the stream's lifetime ends.
    /// </summary>
    internal async Task ReceiveAsync(HttpResponse response, CancellationToken requestAborted)
    {
        Interlocked.Increment(ref _receivers);
        try
        {
            response.ContentType = CometFrames.ContentType(Format);
            response.Headers.CacheControl = "no-cache, no-store";
            // MessagePack has no line framing: a MessagePack transport answers each recv with one array, as a poll.
            if (Stream && Format == WireFormat.Json)
            {
                await response.StartAsync(requestAborted).ConfigureAwait(false);
                var until = Environment.TickCount64 + (long)_streamLifetime.TotalMilliseconds;
                while (await _wire.TakeAsync(TimeSpan.FromMilliseconds(Math.Max(0, until - Environment.TickCount64)), requestAborted).ConfigureAwait(false) is { } batch)
                {
                    await response.Body.WriteAsync(batch, requestAborted).ConfigureAwait(false);
                    await response.Body.WriteAsync("\n"u8.ToArray(), requestAborted).ConfigureAwait(false);
                    await response.Body.FlushAsync(requestAborted).ConfigureAwait(false);
                }
            }
            else
            {
                var batch = await _wire.TakeAsync(_pollTimeout, requestAborted).ConfigureAwait(false);
                if (batch is null && (_stop.IsCancellationRequested || _wire.IsCompleted))
                {
                    // Ended (its last frames already taken, a resume took over, the client fell too far behind): reconnect.
                    await CometEndpoint.WriteGoneAsync(response, Format).ConfigureAwait(false);
                    return;
                }

                batch ??= _wire.EmptyArray();
                response.ContentLength = batch.Length;
                await response.Body.WriteAsync(batch, requestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client dropped the request, so frames may have been lost with it: end the transport (the client
            // resumes, re-attaches from what it got and is replayed the rest).
            RecvDropped(_services.Logger, ConnectionId);
            _ = AbortAfterGraceAsync();
        }
        finally
        {
            Volatile.Write(ref _lastReceiverTicks, Environment.TickCount64);
            Interlocked.Decrement(ref _receivers);
        }
    }

    /// <summary>Hands a send's messages to the session in order; false when the transport has ended or is ending.</summary>
    internal async Task<bool> HandleAsync(IReadOnlyList<ProtocolMessage> messages)
    {
        try
        {
            await _inbound.WaitAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        try
        {
            if (_ended)
            {
                return false;
            }

            foreach (var message in messages)
            {
                if (!await Session.HandleAsync(message, _stop.Token).ConfigureAwait(false))
                {
                    break;
                }
            }

            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        finally
        {
            _inbound.Release();
        }
    }

    /// <summary>
    /// A client closing its connection sends <c>/close</c> and drops its recv at the same moment, on two HTTP connections:
    /// the close is let in first, so the connection ends cleanly (presence leaves now) rather than as a lost transport.
    /// </summary>
    private async Task AbortAfterGraceAsync()
    {
        try
        {
            await Task.Delay(DroppedRecvGrace, _services.Time, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        if (Volatile.Read(ref _receivers) == 0)
        {
            Abort();
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} (comet): outbound queue full ({Limit} bytes); disconnecting slow consumer")]
    private static partial void SlowConsumer(ILogger logger, string connectionId, long limit);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} (comet): no recv for {Timeout}; the client is gone, the connection stays resumable")]
    private static partial void NoReceiver(ILogger logger, string connectionId, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection {ConnectionId} (comet): the client dropped a recv; ending the transport so it resumes")]
    private static partial void RecvDropped(ILogger logger, string connectionId);
}
