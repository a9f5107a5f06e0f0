using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;
using TokenWire.Server.Fanout;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Channels;

/// <summary>
/// This node's view of one channel: its local subscribers and the delivery cursor — the offset of the last message
/// handed to them. Envelopes from the bus are delivered strictly in offset order: duplicates are dropped and gaps are
/// filled from the log before anything later goes out (centrifuge's PubSubSync idea). Because attach and delivery
/// take the same lock, the cursor at attach time is an exact seam between history and live delivery: each delivery is
/// posted under the lock with the subscriber set of that moment, and handed out per subscriber by the
/// <see cref="ChannelDispatcher"/> outside it. Partial files: <c>.Aggregates</c> (each changing message's fold, for
/// first contacts), <c>.Rollup</c> (append rollup), <c>.Presence</c>, <c>.Annotations</c>. Catching up after lost envelopes is this type's
/// alone: a quiet channel, or an engine that reports its link back (<see cref="IMessageBus"/>'s <c>onMissed</c>), asks
/// the log for what came after the cursor (<see cref="CatchUpAsync"/>).
/// </summary>
public sealed partial class LocalChannel
{
    /// <summary>Entries read per log call while replaying or filling, bounding one read's memory.</summary>
    private const int ReadBatch = 1000;

    /// <summary>
    /// A replay's frames are bounded in bytes (messages' <see cref="DeliveredMessage.ApproximateSize"/>, at least one
    /// message a frame), starting small so the first messages reach the client at once, then doubling up to
    /// <see cref="ReplayFrameMaxBytes"/>: fewer frames than a count bound for small messages, yet small enough that
    /// the client decodes one while the next is written (a client handles a frame whole, so a large last frame is a
    /// tail nothing overlaps).
    /// </summary>
    private const int ReplayFrameFirstBytes = 4 * 1024;

    /// <inheritdoc cref="ReplayFrameFirstBytes"/>
    private const int ReplayFrameMaxBytes = 16 * 1024;

    /// <summary>
    /// Quiet time after the last envelope before the channel asks the log whether anything came after it. The bus may
    /// lose an envelope; a lost one in the middle is noticed by the next, but a lost *last* one (the end of a stream)
    /// would otherwise wait for the channel's next publish.
    /// </summary>
    internal static readonly TimeSpan TailCheckDelay = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly ChannelDispatcher _dispatcher = new();

    /// <summary>Messages of the delivery being built (reused under the lock, so a delivery allocates only its batch).</summary>
    private readonly List<DeliveredMessage> _readyMessages = [];
    private readonly List<BusEnvelope> _pending = [];
    private readonly IMessageLog _log;
    private readonly IMessageBus _bus;
    private readonly IPresenceStore _presence;
    private readonly IAnnotationStore? _annotations;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private ChannelSubscriber[] _subscribers = [];
    private IAsyncDisposable? _busSubscription;
    private ITimer? _tailCheck;
    private string _epoch = string.Empty;
    private long _cursor;
    private bool _ready;
    private bool _filling;
    private int _references;
    private bool _closed;

    internal LocalChannel(ChannelKey key, IMessageLog log, IMessageBus bus, IPresenceStore presence, ILogger logger, TimeProvider? time = null, IAnnotationStore? annotations = null)
    {
        _presence = presence;
        _annotations = annotations;
        _time = time ?? TimeProvider.System;
        Key = key;
        Name = key.Name;
        _log = log;
        _bus = bus;
        _logger = logger;
        Ready = StartAsync();
    }

    public ChannelKey Key { get; }

    public string Name { get; }

    /// <summary>Completes once the channel follows the bus and knows its starting cursor.</summary>
    public Task Ready { get; }

    public ChannelOccupancy Occupancy { get; } = new();

    public LogPosition Cursor
    {
        get
        {
            lock (_gate)
            {
                return new LogPosition(_epoch, _cursor);
            }
        }
    }

    private async Task StartAsync()
    {
        // Follow the bus first, then read the head: anything appended in between is either at or before the head
        // (history) or arrives as an envelope after it (live); nothing falls between the two.
        _busSubscription = await _bus.SubscribeAsync(Key, OnEnvelope, OnMissed).ConfigureAwait(false);
        _presenceSubscription = await _presence.SubscribeAsync(Key, OnPresence).ConfigureAwait(false);
        if (_annotations is not null)
        {
            _annotationSubscription = await _annotations.SubscribeAsync(Key, OnAnnotation).ConfigureAwait(false);
        }

        var head = await _log.GetHeadAsync(Key).ConfigureAwait(false);
        var annotationSequence = _annotations is null ? 0 : await _annotations.GetSequenceAsync(Key).ConfigureAwait(false);
        _tailCheck = _time.CreateTimer(_ => _ = CatchUpAsync(afterLostLink: false), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            _epoch = head.Epoch;
            _cursor = head.Offset;
            _annotationSequence = annotationSequence;
            _ready = true;
            if (_pending.Count > 0 && !_filling)
            {
                _filling = true;
                _ = FillAsync();
            }

            DrainAnnotations();
        }
    }

    /// <summary>Completes once every delivery made so far has been handed to the subscribers (internal for testing).</summary>
    internal Task Dispatched() => _dispatcher.Dispatched();

    /// <summary>Registers a subscriber and replays what it asked for; see <see cref="AttachOutcome"/>.</summary>
    /// <param name="sendAttached">Queues the ATTACHED frame without blocking; called once, before any message frame of this channel.</param>
    public async Task<AttachOutcome> AttachAsync(ChannelSubscriber? subscriber, AttachRequest request, Action<AttachOutcome> sendAttached, CancellationToken cancellationToken)
    {
        await Ready.WaitAsync(cancellationToken).ConfigureAwait(false);
        var wantsReplay = subscriber is not null && (request.ResumeFrom is not null || request.RewindCount is not null || request.RewindAge is not null);
        LogPosition attachPosition;
        long attachMark;
        lock (_gate)
        {
            attachPosition = new LogPosition(_epoch, _cursor);
            attachMark = AnnotationMark;
            if (subscriber is not null)
            {
                // Held appends are at or before the attach point (history, replay): they go to the others first.
                FlushHeldAppends();

                // Everything created up to here reaches this attachment as history or replay, not live: its first
                // live version must be whole. A resume lowers the floor (ReplayAsync) once continuity is known.
                subscriber.ContactFloor = attachPosition.Offset;
                if (wantsReplay)
                {
                    subscriber.HoldBack();
                }

                _subscribers = [.. _subscribers, subscriber];
            }

            if (!wantsReplay)
            {
                // Queued under the lock, so it precedes every live frame delivered after this registration.
                // A transport that does not subscribe has nothing to replay, so its resume trivially succeeds.
                var resumed = subscriber is null && request.ResumeFrom is { } from && ResumeDecision.CanContinue(from, request.ResumeMark, attachPosition, attachMark);
                var outcome = new AttachOutcome(
                    resumed ? request.ResumeFrom!.Value : attachPosition,
                    Resumed: resumed,
                    HasBacklog: false,
                    ContinuityLost: !resumed && request.ResumeFrom is not null,
                    resumed ? request.ResumeMark : attachMark);
                sendAttached(outcome);
                return outcome;
            }
        }

        try
        {
            return await ReplayAsync(subscriber!, request, attachPosition, attachMark, sendAttached, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Detach(subscriber!);
            throw;
        }
    }

    private async Task<AttachOutcome> ReplayAsync(ChannelSubscriber subscriber, AttachRequest request, LogPosition attachPosition, long attachMark, Action<AttachOutcome> sendAttached, CancellationToken cancellationToken)
    {
        // The reads' own lists: an engine may decode each entry only when it is read (the in-memory one does), so
        // ATTACHED goes out once continuity is known and the frames follow as the entries are decoded.
        var replay = new List<IReadOnlyList<LogEntry>>();
        AttachOutcome outcome;
        if (request.ResumeFrom is { } from)
        {
            var continuous = ResumeDecision.CanContinue(from, request.ResumeMark, attachPosition, attachMark);
            var position = from;
            while (continuous && position.Offset < attachPosition.Offset)
            {
                var read = await _log.ReadAfterAsync(Key, position, (int)Math.Min(ReadBatch, attachPosition.Offset - position.Offset), cancellationToken).ConfigureAwait(false);
                continuous = read.Continuous && read.Entries.Count > 0 && read.Entries[0].Offset == position.Offset + 1;
                replay.Add(read.Entries);
                position = position.WithOffset(read.Entries.Count > 0 ? read.Entries[^1].Offset : position.Offset);
            }

            if (!continuous)
            {
                replay.Clear();
            }

            outcome = new AttachOutcome(continuous ? from : attachPosition, Resumed: continuous, HasBacklog: false, ContinuityLost: !continuous, continuous ? request.ResumeMark : attachMark);
        }
        else
        {
            var since = request.RewindAge is { } age ? _time.GetUtcNow().Add(-age).ToUnixTimeMilliseconds() : (long?)null;
            var recent = await _log.ReadRecentAsync(Key, request.RewindCount, since, attachPosition, cancellationToken).ConfigureAwait(false);
            replay.Add(recent);
            outcome = new AttachOutcome(attachPosition, Resumed: false, HasBacklog: recent.Count > 0, ContinuityLost: false, attachMark);
        }

        if (outcome.Resumed)
        {
            // The client holds what it had before: it is replayed the versions themselves, and so are later ones.
            subscriber.ContactFloor = 0;
        }

        sendAttached(outcome);
        await YieldToWriterAsync().ConfigureAwait(false);

        // Batched, so a replay longer than the outbound queue still fits in it: one frame per entry made a long gap
        // overflow the queue at once and the resume fail again and again, most of all when maxOutboundRate paces the
        // writer.
        var rewound = request.ResumeFrom is null;
        var replayMark = rewound ? attachMark : outcome.AnnotationMark;
        var batch = new List<DeliveredMessage>();
        var batchBytes = 0;
        var frameBytes = ReplayFrameFirstBytes;
        Dictionary<long, MessageAggregate?>? wholeAppends = subscriber.AppendModeFull ? [] : null;
        foreach (var read in replay)
        {
            // Relayed as stored where the log gives its entries so (IStoredEntries): written to the wire from the
            // stored bytes, never decoded unless the attachment's view needs the message (a filter, a delta).
            var stored = read as IStoredEntries;
            for (var i = 0; i < read.Count; i++)
            {
                var message = stored is not null && stored.TryGetStored(i, out var entry) ? new DeliveredMessage(entry) : new DeliveredMessage(read[i]);
                if (rewound && message.Action is MessageActions.Update or MessageActions.Delete)
                {
                    subscriber.MarkContacted(message.Offset); // sent whole, folded up to the attach point
                }

                if (subscriber.Sink.EchoMessages || message.ConnectionId != subscriber.Sink.ConnectionId)
                {
                    var size = message.ApproximateSize;
                    if (batch.Count > 0 && batchBytes + size > frameBytes)
                    {
                        await SendReplayAsync(subscriber, batch, rewound, attachPosition, replayMark, cancellationToken).ConfigureAwait(false);
                        batchBytes = 0;
                        frameBytes = Math.Min(frameBytes * 2, ReplayFrameMaxBytes);
                    }

                    batchBytes += size;
                    batch.Add(wholeAppends is not null && message.VersionOf is not null
                        ? await WholeForReplayAsync(read[i], wholeAppends, attachPosition.Epoch, cancellationToken).ConfigureAwait(false)
                        : message);
                }
            }
        }

        if (batch.Count > 0)
        {
            await SendReplayAsync(subscriber, batch, rewound, attachPosition, replayMark, cancellationToken).ConfigureAwait(false);
        }

        if (outcome.Resumed && outcome.AnnotationMark < attachMark)
        {
            await ReplayAnnotationsAsync(subscriber, attachPosition, outcome.AnnotationMark, attachMark, cancellationToken).ConfigureAwait(false);
        }

        subscriber.ReleaseBacklog();
        return outcome;
    }

    /// <summary>
    /// <c>appendMode=full</c> holds for a resume's replay too: each replayed append goes out as the whole message as of
    /// it, folded from the log (one read per message replayed, then in replay order).
    /// </summary>
    private async ValueTask<DeliveredMessage> WholeForReplayAsync(LogEntry version, Dictionary<long, MessageAggregate?> folds, string epoch, CancellationToken cancellationToken)
    {
        var original = version.VersionOf!.Value;
        if (!folds.TryGetValue(original, out var fold))
        {
            var versions = await _log.ReadMessageAsync(Key, new LogPosition(epoch, original), cancellationToken).ConfigureAwait(false);
            fold = versions is null ? null : MessageAggregate.From(versions.Original, versions.Versions, version.Offset);
            folds[original] = fold;
        }

        var delivered = new DeliveredMessage(version, fold?.Apply(version));
        return version.Message.Action == MessageActions.Append ? delivered.Whole : delivered;
    }

    /// <summary>A rewind's frames bring the subscriber to the attach point (its messages are folded up to it); a resume's to each batch's last entry.</summary>
    private async ValueTask SendReplayAsync(ChannelSubscriber subscriber, List<DeliveredMessage> batch, bool rewound, LogPosition attachPosition, long mark, CancellationToken cancellationToken)
    {
        var serial = ChannelSerials.Format(rewound ? attachPosition : attachPosition.WithOffset(batch[^1].Offset), mark);
        var replay = new MessageBatch(Name, serial, [.. batch]) { IsReplay = true, ComposedFromMessages = true };
        batch.Clear();
        await subscriber.SendReplayAsync(replay, cancellationToken).ConfigureAwait(false);
        await YieldToWriterAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Lets the connection's writer, woken by what was just queued and waiting in this thread's local queue, run here
    /// now: otherwise it waits for another pool thread to wake and steal it (milliseconds on a busy machine) while the
    /// replay keeps this one. A long replay also takes turns with other connections' work this way.
    /// </summary>
    private static async ValueTask YieldToWriterAsync() => await Task.Yield();

    public void Detach(ChannelSubscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s != subscriber);
        }

        subscriber.MarkDetached();
    }

    private void OnEnvelope(BusEnvelope envelope)
    {
        if (envelope.Entries.Count == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            if (envelope.Ephemeral)
            {
                DeliverEphemeral(envelope);
                return;
            }

            if (!_ready || _filling || TryDeliver(envelope) != Delivery.Done)
            {
                _pending.Add(envelope);
                if (_ready && !_filling)
                {
                    _filling = true;
                    _ = FillAsync();
                }
            }

            if (_subscribers.Length > 0)
            {
                _tailCheck?.Change(TailCheckDelay, Timeout.InfiniteTimeSpan);
            }

            DrainAnnotations();
        }
    }

    /// <summary>The engine's link to the other nodes came back: envelopes may have been lost meanwhile.</summary>
    private void OnMissed() => _ = CatchUpAsync(afterLostLink: true);

    /// <summary>
    /// Asks the log for anything after the cursor, and feeds the newest entry back in as an envelope: the gap before it
    /// is then filled from the log like any other, and a newer epoch is taken up. Runs once envelopes have gone quiet
    /// (a lost *last* envelope, the end of a stream, would otherwise wait for the channel's next publish) and when the
    /// engine reports a lost link. At most one read when nothing was lost.
    /// </summary>
    /// <param name="afterLostLink">The engine reported a lost link: losses are expected (logged at Debug, not Warning),
    /// and the channel catches up even with no subscriber, for those attaching next.</param>
    private async Task CatchUpAsync(bool afterLostLink)
    {
        LogPosition cursor;
        lock (_gate)
        {
            if (_closed || !_ready || (_subscribers.Length == 0 && !afterLostLink))
            {
                return;
            }

            cursor = new LogPosition(_epoch, _cursor);
        }

        try
        {
            var head = await _log.GetHeadAsync(Key).ConfigureAwait(false);
            if (head.Offset == 0 || (head.Epoch == cursor.Epoch && head.Offset <= cursor.Offset))
            {
                return;
            }

            // The raw last entry (ReadAfter replays versions as they were broadcast, unlike a rewind read).
            var newest = await _log.ReadAfterAsync(Key, head.WithOffset(head.Offset - 1), 1).ConfigureAwait(false);
            if (newest.Entries.Count > 0)
            {
                if (afterLostLink)
                {
                    CaughtUpAfterLostLink(_logger, Key, cursor.Offset + 1, head.Offset);
                }
                else
                {
                    TailRecovered(_logger, Key, cursor.Offset + 1, head.Offset);
                }

                OnEnvelope(new BusEnvelope(Key, newest.Epoch, newest.Entries, newest.Entries[0].Message.ConnectionId));
            }
        }
        catch (EngineUnavailableException ex)
        {
            // The engine is away: the next report of a restored link, or the next envelope, catches up.
            CatchUpDeferred(_logger, Key, ex.Message);
        }
        catch (Exception ex)
        {
            GapFillFailed(_logger, ex, Key);
        }
    }

    /// <summary>Delivers an envelope that continues the cursor, unless it would leave a gap or needs a message's
    /// state from the log first. Caller holds the lock.</summary>
    private Delivery TryDeliver(BusEnvelope envelope)
    {
        if (envelope.Epoch != _epoch)
        {
            if (string.CompareOrdinal(envelope.Epoch, _epoch) < 0)
            {
                return Delivery.Done; // From a log incarnation we have moved past: stale.
            }

            // The log was rebuilt: continue from the new epoch's start. Subscribers re-attaching will see continuity lost.
            LogEpochChanged(_logger, Key, _epoch, envelope.Epoch);
            FlushHeldAppends();
            _epoch = envelope.Epoch;
            _cursor = 0;
            ForgetAggregates();
        }

        if (envelope.LastOffset <= _cursor)
        {
            return Delivery.Done; // Already delivered (a gap fill got there first).
        }

        if (envelope.FirstOffset > _cursor + 1)
        {
            return Delivery.Gap;
        }

        var entries = envelope.FirstOffset == _cursor + 1
            ? envelope.Entries
            : envelope.Entries.Where(e => e.Offset > _cursor).ToList();
        if (!CanFold(entries))
        {
            return Delivery.NeedsState;
        }

        DeliverToSubscribers(entries, envelope.PublisherConnectionId, envelope.AppendRollupWindow);
        _cursor = envelope.LastOffset;
        return Delivery.Done;
    }

    /// <summary>
    /// Ephemeral messages go out as they arrive: they hold no place in the log, so they neither wait for a gap to
    /// fill nor move the cursor; the frame carries the channel's current position. Caller holds the lock.
    /// </summary>
    private void DeliverEphemeral(BusEnvelope envelope)
    {
        if (!_ready || _subscribers.Length == 0)
        {
            return;
        }

        FlushHeldAppends();

        var messages = new DeliveredMessage[envelope.Entries.Count];
        for (var i = 0; i < messages.Length; i++)
        {
            messages[i] = new DeliveredMessage(envelope.Entries[i]);
        }

        _dispatcher.Post(new MessageBatch(Name, ChannelSerials.Format(new LogPosition(_epoch, _cursor), AnnotationMark), messages, envelope.PublisherConnectionId), _subscribers);
    }

    /// <summary>
    /// Posts entries to the dispatcher with the current subscriber set. Caller holds the lock and has checked
    /// <see cref="CanFold"/>; everything per subscriber happens on the dispatcher, outside the lock.
    /// </summary>
    private void DeliverToSubscribers(IReadOnlyList<LogEntry> entries, string? publisherConnectionId, TimeSpan appendRollupWindow = default)
    {
        if (_subscribers.Length == 0)
        {
            _heldAppends = null;
            ForgetAggregates();
            return;
        }

        var ready = _readyMessages;
        for (var i = 0; i < entries.Count; i++) // not foreach: an interface's enumerator is an allocation per publish
        {
            var entry = entries[i];
            var snapshot = Fold(entry);
            if (TryHoldAppend(entry, snapshot, publisherConnectionId, appendRollupWindow))
            {
                continue;
            }

            if (_heldAppends is not null)
            {
                // Log order: what is held goes out before anything after it.
                PostReady(publisherConnectionId);
                FlushHeldAppends();
            }

            var delivered = new DeliveredMessage(entry, snapshot);
            MarkAppendSent(entry);
            if (entries.Count == 1)
            {
                // The common publish: posted as it is, not through the channel-long list (a young reference written
                // into an old object is work for every collection until the next).
                Post([delivered], publisherConnectionId);
                return;
            }

            ready.Add(delivered);
        }

        PostReady(publisherConnectionId);
    }

    /// <summary>Posts the messages made ready so far as one batch. Caller holds the lock.</summary>
    private void PostReady(string? publisherConnectionId)
    {
        if (_readyMessages.Count == 0)
        {
            return;
        }

        Post([.. _readyMessages], publisherConnectionId);
        _readyMessages.Clear();
    }

    /// <summary>Posts messages as one batch. Caller holds the lock.</summary>
    private void Post(DeliveredMessage[] messages, string? publisherConnectionId)
    {
        // A plain message's serial is its position already; a version (carrying its original's serial) needs one made.
        var last = messages[^1];
        var channelSerial = ChannelSerials.Format(last.VersionOf is not null ? new LogPosition(_epoch, last.Offset).ToSerial() : last.Message.Serial!, AnnotationMark);
        _dispatcher.Post(new MessageBatch(Name, channelSerial, messages, publisherConnectionId), _subscribers);
    }

    /// <summary>
    /// Reads the log to close a gap, or to learn the state of messages whose versions are next, then delivers pending
    /// envelopes; runs until nothing is pending.
    /// </summary>
    private async Task FillAsync()
    {
        while (true)
        {
            LogPosition from;
            long target;
            List<(long Original, long Before)>? needed;
            lock (_gate)
            {
                needed = DrainPending();
                DrainAnnotations();
                if (_pending.Count == 0 || _closed)
                {
                    _filling = false;
                    return;
                }

                from = new LogPosition(_epoch, _cursor);
                target = _pending.Max(e => e.Epoch == _epoch ? e.FirstOffset - 1 : 0);
            }

            try
            {
                if (needed is not null)
                {
                    await LoadAggregatesAsync(from.Epoch, needed).ConfigureAwait(false);
                    continue;
                }

                var read = await _log.ReadAfterAsync(Key, from, (int)Math.Clamp(target - from.Offset, 1, ReadBatch)).ConfigureAwait(false);
                DecodeOutsideLock(read.Entries);
                needed = DeliverRead(read, from);
                if (needed is not null)
                {
                    await LoadAggregatesAsync(from.Epoch, needed).ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                GapFillFailed(_logger, ex, Key);
                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Reads every entry once, so an engine that decodes entries as they are read does it here, not under the lock.</summary>
    private static void DecodeOutsideLock(IReadOnlyList<LogEntry> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            _ = entries[i];
        }
    }

    /// <summary>Delivers entries read to fill a gap, stopping before one whose message state must be loaded (returned).</summary>
    private List<(long Original, long Before)>? DeliverRead(ReadResult read, LogPosition from)
    {
        lock (_gate)
        {
            if (read.Epoch == _epoch && _cursor == from.Offset)
            {
                foreach (var entry in read.Entries)
                {
                    if (entry.Offset <= _cursor)
                    {
                        continue;
                    }

                    if (!CanFold([entry]))
                    {
                        return MissingAggregates([entry]);
                    }

                    if (entry.Offset > _cursor + 1)
                    {
                        // The start of the gap has expired from the log: deliver what it still has.
                        MessagesSkipped(_logger, Key, _cursor + 1, entry.Offset - 1);
                        _cursor = entry.Offset - 1;
                    }

                    DeliverToSubscribers([entry], entry.Message.ConnectionId);
                    _cursor = entry.Offset;
                }

                DrainAnnotations();

                if (read.Entries.Count == 0)
                {
                    // The log no longer has what the gap needs (expired or rebuilt): skip to what we can deliver.
                    var next = _pending.Where(e => e.Epoch == _epoch).Select(e => e.FirstOffset).DefaultIfEmpty(_cursor + 1).Min();
                    if (next > _cursor + 1)
                    {
                        MessagesSkipped(_logger, Key, _cursor + 1, next - 1);
                        _cursor = next - 1;
                    }
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Delivers every pending envelope that now continues the cursor. Returns the message states to load when the
    /// next envelope needs them. Caller holds the lock.
    /// </summary>
    private List<(long Original, long Before)>? DrainPending()
    {
        bool progressed;
        do
        {
            progressed = false;
            _pending.Sort(static (a, b) => a.Epoch == b.Epoch ? a.FirstOffset.CompareTo(b.FirstOffset) : string.CompareOrdinal(a.Epoch, b.Epoch));
            for (var i = 0; i < _pending.Count; i++)
            {
                var envelope = _pending[i];
                switch (TryDeliver(envelope))
                {
                    case Delivery.Done:
                        _pending.RemoveAt(i);
                        progressed = true;
                        break;
                    case Delivery.NeedsState:
                        return MissingAggregates(envelope.Entries);
                    default:
                        continue;
                }

                break;
            }
        }
        while (progressed && _pending.Count > 0);
        return null;
    }

    private enum Delivery
    {
        Done,
        Gap,
        NeedsState,
    }

    internal bool TryAddReference()
    {
        lock (_gate)
        {
            if (_closed)
            {
                return false;
            }

            _references++;
            return true;
        }
    }

    /// <summary>Drops a reference; true when it was the last one and the channel is now closed.</summary>
    internal bool ReleaseReference()
    {
        lock (_gate)
        {
            _references--;
            if (_references > 0)
            {
                return false;
            }

            _closed = true;
        }

        _ = CloseAsync();
        return true;
    }

    private async Task CloseAsync()
    {
        try
        {
            await Ready.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A channel that never started has nothing to unsubscribe.
        }

        if (_tailCheck is { } tailCheck)
        {
            await tailCheck.DisposeAsync().ConfigureAwait(false);
        }

        if (_rollupTimer is { } rollupTimer)
        {
            await rollupTimer.DisposeAsync().ConfigureAwait(false);
        }

        if (_busSubscription is { } subscription)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }

        if (_presenceSubscription is { } presenceSubscription)
        {
            await presenceSubscription.DisposeAsync().ConfigureAwait(false);
        }

        if (_annotationSubscription is { } annotationSubscription)
        {
            await annotationSubscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: log epoch changed from {Old} to {New}")]
    private static partial void LogEpochChanged(ILogger logger, ChannelKey channel, string old, string @new);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: reading the log to fill a delivery gap failed; retrying")]
    private static partial void GapFillFailed(ILogger logger, Exception exception, ChannelKey channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: offsets {From}..{To} never arrived on the bus; delivering them from the log")]
    private static partial void TailRecovered(ILogger logger, ChannelKey channel, long from, long to);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Channel {Channel}: catching up offsets {From}..{To} from the log after the engine's link was restored")]
    private static partial void CaughtUpAfterLostLink(ILogger logger, ChannelKey channel, long from, long to);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Channel {Channel}: catch-up deferred, the engine is unavailable ({Reason})")]
    private static partial void CatchUpDeferred(ILogger logger, ChannelKey channel, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: offsets {From}..{To} are no longer in the log and were not delivered")]
    private static partial void MessagesSkipped(ILogger logger, ChannelKey channel, long from, long to);
}
