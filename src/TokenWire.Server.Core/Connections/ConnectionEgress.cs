using System.Net.WebSockets;
using System.Runtime.InteropServices;
using TokenWire.Protocol;
using TokenWire.Server.Diagnostics;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Connections;

/// <summary>
/// The egress stage of one transport: everything its socket receives goes through one queue, bounded in bytes (a
/// control frame at its size; a batch of messages at its size plus the objects it keeps alive while queued, so that
/// the bound holds for the memory a stuck connection holds, <see cref="MessageBatch.GetQueuedWeight"/>), and one
/// writer — but for an ACK or NACK on an idle connection, which its caller writes directly (<see cref="TryWriteNow"/>).
/// Control frames (ACK, ATTACHED, PRESENCE…) go out as they are. Channel messages arrive as
/// <see cref="MessageBatch"/>es of pre-encoded messages; when several of one channel are queued back to back the
/// writer sends them as one MESSAGE frame (Ably's bundling, channelSerial of the last), and under backpressure it
/// folds consecutive appends to one message into one. So frames grow with the queue: a keeping-up subscriber gets
/// one frame per delivery, a lagging one fewer, larger frames instead of a growing backlog.
/// </summary>
internal sealed class ConnectionEgress
{
    /// <summary>
    /// Largest bundle composed from several batches: big enough that a lagging subscriber catches up in few frames,
    /// small enough to stay far below maxFrameSize and not delay the first bytes of a frame behind a long copy.
    /// </summary>
    private const int MaxBundleBytes = 64 * 1024;

    private readonly EgressQueue _queue = new();
    private readonly WireFormat _format;
    private readonly long _maxQueuedBytes;

    /// <summary>A bundle is drained out of the queue before it is written (and paced), so it is kept to a quarter of
    /// the bound: what a paced writer holds in hand must not hide a connection that is falling behind.</summary>
    private readonly int _maxBundleBytes;
    private readonly OutboundRateLimiter _pacing;
    private readonly TimeProvider _time;
    private readonly MessageMetrics? _metrics;
    private readonly PooledBufferWriter _buffer = new();
    private readonly List<DeliveredMessage> _bundle = [];
    private readonly List<ReadOnlyMemory<byte>> _parts = [];

    /// <summary>
    /// A batch of one message that began the bundle, kept out of <see cref="_bundle"/> until another joins it: a
    /// keeping-up subscriber's delivery then goes out without its message being written into the connection-long list
    /// (a young reference in an old object, which every collection until the next must scan).
    /// </summary>
    private MessageBatch? _alone;
    private MessageBatch? _bundleSingle;
    private string? _bundleChannel;
    private string? _bundleSerial;
    private int _bundleBytes;
    private bool _bundleChanged;

    /// <summary>Log timestamp (Unix ms) of the bundle's oldest live message; 0 while it holds only replayed ones.</summary>
    private long _bundleLiveSince;
    private long _queuedBytes;
    private long _lastWriteTicks;
    private TaskCompletionSource? _drained;

    /// <summary>
    /// 1 while the wire has an owner: the writer while it drains the queue (from taking its first item to its flush),
    /// or a caller of <see cref="TryWriteNow"/> until its write completes. One owner at a time keeps the frames of the
    /// two paths from interleaving; the writer keeps it for good once the queue is completed.
    /// </summary>
    private int _wireOwned;

    /// <summary>Where the writer writes (set when it starts); null before, when nothing can be written directly.</summary>
    private IEgressWire? _wire;

    /// <summary>
    /// The writer, waiting for a direct write to give the wire back (set before it checks the wire once more, taken and
    /// completed by whoever releases it): it awaits the release instead of spinning, however long the peer takes.
    /// </summary>
    private TaskCompletionSource? _wireWaiter;

    public ConnectionEgress(WireFormat format, long maxQueuedBytes, int maxOutboundRate, TimeProvider time, MessageMetrics? metrics = null)
    {
        _metrics = metrics;
        _format = format;
        _maxQueuedBytes = maxQueuedBytes;
        _maxBundleBytes = maxQueuedBytes > 0 ? (int)Math.Min(MaxBundleBytes, maxQueuedBytes / 4) : MaxBundleBytes;
        _time = time;
        _pacing = new OutboundRateLimiter(maxOutboundRate, time);
    }

    /// <summary>Bytes waiting to be written, and for messages the objects they keep alive (see <see cref="MessageBatch.GetQueuedWeight"/>).</summary>
    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    /// <summary><see cref="Environment.TickCount64"/> at the last write (heartbeats are due only after quiet time).</summary>
    public long LastWriteTicks => Volatile.Read(ref _lastWriteTicks);

    /// <summary>Queues a frame; false when it would exceed the byte bound (the caller ends the transport).</summary>
    public bool TryEnqueue(EncodedFrame frame) => TryEnqueue(frame, frame.GetBytes(_format).Length);

    /// <inheritdoc cref="TryEnqueue(EncodedFrame)"/>
    public bool TryEnqueue(MessageBatch batch) => TryEnqueue(batch, batch.GetQueuedWeight(_format));

    /// <summary>Queues replayed messages once the queue is below half its bound (see <see cref="IFrameSink.EnqueueReplayAsync"/>).</summary>
    public async ValueTask EnqueueReplayAsync(MessageBatch batch, CancellationToken cancellationToken)
    {
        while (_maxQueuedBytes > 0 && QueuedBytes > _maxQueuedBytes / 2)
        {
            var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            drained = Interlocked.CompareExchange(ref _drained, drained, null) ?? drained;
            if (QueuedBytes > _maxQueuedBytes / 2)
            {
                await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        var weight = batch.GetQueuedWeight(_format);
        Interlocked.Add(ref _queuedBytes, weight);
        if (!_queue.TryWrite(batch))
        {
            Interlocked.Add(ref _queuedBytes, -weight);
        }
    }

    /// <summary>No more items: the writer sends what is queued, then returns.</summary>
    public void Complete() => _queue.Complete();

    /// <summary>Writes until the queue is completed and drained. Socket errors and cancellation propagate.</summary>
    /// <param name="backpressure">The socket's stream, when its writes return before the peer has taken them (see <see cref="WebSocketWire"/>).</param>
    public Task WriteAllAsync(WebSocket socket, CancellationToken cancellationToken, IWebSocketBackpressure? backpressure = null) =>
        WriteAllAsync(new WebSocketWire(socket, _format, backpressure), cancellationToken);

    /// <summary>
    /// Writes a control frame (an ACK or NACK) on the calling thread when nothing is queued or being written before it:
    /// no hand-off to the writer and no wake-up of another thread. False when it was not written (frames are queued or
    /// being written, the writer has not started or has ended, or the frame is paced): the caller queues it, behind
    /// them. A write that does not complete synchronously (the peer is not reading) keeps the wire until it does, and
    /// is returned in <paramref name="pending"/>; a failed write throws here or faults that task.
    /// </summary>
    public bool TryWriteNow(ProtocolMessage control, CancellationToken cancellationToken, out Task? pending)
    {
        pending = null;
        if (_wire is not { } wire || OutboundRateLimiter.MessagesIn(control) > 0 || Interlocked.CompareExchange(ref _wireOwned, 1, 0) != 0)
        {
            return false;
        }

        // Owning the wire, an empty queue means that everything queued before this frame has been written.
        if (!_queue.IsEmptyAndOpen)
        {
            ReleaseWire();
            return false;
        }

        ValueTask write;
        try
        {
            ProtocolCodecs.For(_format).Write(control, _buffer);
            write = wire.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        }
        catch
        {
            ReleaseDirectWrite();
            throw;
        }

        if (write.IsCompleted)
        {
            try
            {
                write.GetAwaiter().GetResult();
            }
            finally
            {
                ReleaseDirectWrite();
            }

            Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
            return true;
        }

        pending = CompleteDirectWriteAsync(write);
        return true;
    }

    private async Task CompleteDirectWriteAsync(ValueTask write)
    {
        try
        {
            await write.ConfigureAwait(false);
            Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
        }
        finally
        {
            ReleaseDirectWrite();
        }
    }

    private void ReleaseDirectWrite()
    {
        _buffer.Reset(); // the connection is most likely idle now: it keeps no buffer
        ReleaseWire();
    }

    /// <summary>A direct writer gives the wire back, and wakes the writer if it is waiting for it.</summary>
    private void ReleaseWire()
    {
        Volatile.Write(ref _wireOwned, 0);
        Interlocked.Exchange(ref _wireWaiter, null)?.TrySetResult();
    }

    /// <summary>Test hook: called when the writer finds the wire held by a direct write, before it waits for it.</summary>
    internal Action? WireHeld { get; set; }

    /// <summary>Takes the wire for the writer, once a direct write that holds it has given it back.</summary>
    private async ValueTask TakeWireAsync()
    {
        var held = false;
        while (Interlocked.CompareExchange(ref _wireOwned, 1, 0) != 0)
        {
            if (!held)
            {
                held = true;
                WireHeld?.Invoke();
            }

            // Registered before the wire is tried again (both sides fence), so a release either lets that try succeed
            // or finds the waiter and completes it: never lost, and nothing spins while a slow peer's write is pending.
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _wireWaiter, waiter);
            if (Interlocked.CompareExchange(ref _wireOwned, 1, 0) == 0)
            {
                Interlocked.CompareExchange(ref _wireWaiter, null, waiter);
                return;
            }

            await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <inheritdoc cref="WriteAllAsync(WebSocket, CancellationToken, IWebSocketBackpressure)"/>
    public async Task WriteAllAsync(IEgressWire wire, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _wire, wire);
        try
        {
            while (true)
            {
                var more = await _queue.WaitToReadAsync().ConfigureAwait(false);
                await TakeWireAsync().ConfigureAwait(false);
                if (!more)
                {
                    return; // keeping the wire: nothing is written directly after the queue's end
                }

                // Declared here to be cleared below: this loop's state machine lives as long as the connection, and
                // locals live across an await are its fields, so the last item would stay reachable while the
                // connection waits, however long: promoted by every collection meanwhile (one per subscriber).
                MessageBatch? batch = null;
                EncodedFrame? frame = null;
                while (_queue.TryRead(out var item))
                {
                    batch = item as MessageBatch;
                    if (batch is not null)
                    {
                        var size = batch.GetQueuedSize(_format);
                        Dequeued(size + batch.RetainedObjectBytes);
                        if (BundleHasMessages && (batch.Channel != _bundleChannel || batch.StartsFrame || _bundleBytes + size > _maxBundleBytes))
                        {
                            await FlushBundleAsync(wire, cancellationToken).ConfigureAwait(false);
                        }

                        AddToBundle(batch, size);
                        continue;
                    }

                    frame = (EncodedFrame)item;
                    var length = frame.GetBytes(_format).Length;
                    Dequeued(length);
                    await FlushBundleAsync(wire, cancellationToken).ConfigureAwait(false);
                    await SendAsync(wire, frame.GetBytes(_format), OutboundRateLimiter.MessagesIn(frame.Message), cancellationToken).ConfigureAwait(false);
                }

                batch = null;
                frame = null;
                await FlushBundleAsync(wire, cancellationToken).ConfigureAwait(false);
                wire.Flush();

                // The queue is empty: an idle connection holds no buffer (a busy one keeps it from frame to frame).
                _buffer.Reset();
                Volatile.Write(ref _wireOwned, 0);
            }
        }
        finally
        {
            _buffer.Reset();
        }
    }

    private void Dequeued(int size)
    {
        if (Interlocked.Add(ref _queuedBytes, -size) <= _maxQueuedBytes / 2 && Volatile.Read(ref _drained) is not null)
        {
            Interlocked.Exchange(ref _drained, null)?.TrySetResult();
        }
    }

    private bool TryEnqueue(object item, int size)
    {
        if (Interlocked.Add(ref _queuedBytes, size) > _maxQueuedBytes && _maxQueuedBytes > 0)
        {
            Interlocked.Add(ref _queuedBytes, -size);
            return false;
        }

        if (!_queue.TryWrite(item))
        {
            // Completed: the transport is ending and the client will be replayed what it missed.
            Interlocked.Add(ref _queuedBytes, -size);
        }

        return true;
    }

    private bool BundleHasMessages => _bundle.Count > 0 || _alone is not null;

    private void AddToBundle(MessageBatch batch, int size)
    {
        if (_alone is { } alone)
        {
            // A second batch joins the one held alone: from here on the bundle is composed as before.
            _alone = null;
            AddMessages(alone);
        }
        else if (_bundle.Count == 0 && batch.Messages.Length == 1)
        {
            _alone = batch;
        }

        _bundleSingle = _bundle.Count == 0 ? batch : null;
        _bundleChannel = batch.Channel;
        _bundleSerial = batch.ChannelSerial;
        _bundleBytes += size;
        if (_bundleLiveSince == 0 && !batch.IsReplay && batch.Messages.Length > 0)
        {
            _bundleLiveSince = batch.Messages[0].LoggedAt;
        }

        if (_alone is null)
        {
            AddMessages(batch);
        }
    }

    private void AddMessages(MessageBatch batch)
    {
        foreach (var message in batch.Messages)
        {
            if (_bundle.Count > 0 && Coalesce(_bundle[^1], message) is { } folded)
            {
                _bundle[^1] = folded;
                _bundleChanged = true;
            }
            else
            {
                _bundle.Add(message);
            }
        }
    }

    /// <summary>
    /// An append folded into the append or whole message before it, when both are plain text of the same message:
    /// data concatenated, name and extras of the later, its version. Only reached when messages queued up.
    /// </summary>
    private static DeliveredMessage? Coalesce(DeliveredMessage earlier, DeliveredMessage append)
    {
        var first = earlier.Message;
        var next = append.Message;
        if (!append.IsAppend || first.Serial is null || first.Serial != next.Serial
            || !(earlier.IsAppend || first.Action == MessageActions.Update)
            || first.Data.Text is not { } head || !string.IsNullOrEmpty(first.Encoding) || next.Data.Text is not { } tail)
        {
            return null;
        }

        // An append stays an append (its own id and header); a whole message stays whole.
        var folded = (earlier.IsAppend ? next : first).Clone();
        folded.Data = MessageData.FromText(string.Concat(head, tail));
        folded.Name = next.Name ?? first.Name;
        folded.Extras = next.Extras ?? first.Extras;
        folded.Version = next.Version;
        return new DeliveredMessage(folded, append.Offset, append.VersionOf, loggedAt: earlier.LoggedAt);
    }

    private async ValueTask FlushBundleAsync(IEgressWire wire, CancellationToken cancellationToken)
    {
        if (!BundleHasMessages)
        {
            return;
        }

        ReadOnlySpan<DeliveredMessage> messages = _alone is { } alone ? alone.Messages : CollectionsMarshal.AsSpan(_bundle);
        ReadOnlyMemory<byte> bytes;
        if (_bundleSingle is { ComposedFromMessages: false } single && !_bundleChanged)
        {
            bytes = single.GetFrame(_format); // composed once, shared with every subscriber of this format
        }
        else
        {
            var (connectionId, timestamp) = DeliveredMessage.FrameFields(messages);
            foreach (var message in messages)
            {
                _parts.Add(message.GetBytesInFrame(_format, connectionId, timestamp));
            }

            MessageFrames.Write(_format, _bundleChannel!, _bundleSerial!, CollectionsMarshal.AsSpan(_parts), _buffer, connectionId, timestamp);
            bytes = _buffer.WrittenMemory;
        }

        var count = messages.Length;
        var liveSince = _bundleLiveSince;
        _bundle.Clear();
        _parts.Clear();
        _alone = null;
        _bundleSingle = null;
        _bundleSerial = null; // the serial string is the delivery's own: not kept while the connection waits
        _bundleBytes = 0;
        _bundleChanged = false;
        _bundleLiveSince = 0;
        await SendAsync(wire, bytes, count, cancellationToken).ConfigureAwait(false);
        _buffer.Clear();

        // Per frame, not per message: one counter add and at most one histogram record, whatever the frame holds.
        _metrics?.FrameWritten(count, liveSince);
    }

    private async ValueTask SendAsync(IEgressWire wire, ReadOnlyMemory<byte> bytes, int messages, CancellationToken cancellationToken)
    {
        // maxOutboundRate: waiting here lets the queue fill behind a connection above the rate, so the byte bound ends
        // it; the abort cancels this wait.
        if (_pacing.Take(messages) is { } wait && wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }

        await wire.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _lastWriteTicks, Environment.TickCount64);
    }
}
