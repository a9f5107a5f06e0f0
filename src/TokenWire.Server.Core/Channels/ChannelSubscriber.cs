using TokenWire.Protocol;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// One transport's delivery registration on a <see cref="LocalChannel"/>, and the per-attachment state that decides
/// what it receives:
/// <list type="bullet">
/// <item>echo suppression (<c>echo=false</c>);</item>
/// <item>first contact: a version of a message created at or before <see cref="ContactFloor"/> (the attach point) that
/// this attachment has not yet seen whole goes out as the whole message so far (<c>message.update</c>), later ones as
/// they are. Messages created after the attach point were received live, so they need nothing;</item>
/// <item><c>appendMode=full</c>: every append goes out whole;</item>
/// <item><c>delta=vcdiff</c>: each message as a delta against the one delivered before it (<see cref="DeltaChain"/>);</item>
/// <item>a qualified name (<c>[?rewind=1]name</c>, <c>[filter=…]name</c>): frames carry <see cref="WireName"/>, the name
/// the client attached with, and a <see cref="Filter"/> keeps only the messages it matches (presence is not delivered
/// to a filtered attachment, as it is subscribe-only; a summary is, when the channel found its message matches).</item>
/// </list>
/// While <see cref="HasBacklog"/> is true the subscriber is catching up (resume or rewind replay, presence SYNC) and live
/// deliveries are held back, in order, until the replay has been queued. Deliveries arrive from the channel's
/// dispatcher, one at a time; the small lock here orders them against replay, release and detach.
/// </summary>
public sealed class ChannelSubscriber(IFrameSink sink, ProtocolFlags modes, bool appendModeFull = false)
{
    private readonly Lock _gate = new();
    private HashSet<long>? _contacted;
    private List<object>? _backlog;
    private bool _detached;
    private bool _appendModeFull = appendModeFull;
    private DeltaChain? _deltas;

    public IFrameSink Sink { get; } = sink;

    public ProtocolFlags Modes { get; } = modes;

    /// <summary>The channel name frames carry when the client attached with a qualified one; null for the plain name.</summary>
    public string? WireName { get; init; }

    /// <summary>The attachment's subscription filter, compiled at attach.</summary>
    public MessageFilter? Filter { get; init; }

    /// <summary><c>appendMode=full</c>; a re-attach with other params (<c>setOptions</c>) changes it in place.</summary>
    public bool AppendModeFull
    {
        get => Volatile.Read(ref _appendModeFull);
        set => Volatile.Write(ref _appendModeFull, value);
    }

    /// <summary><c>delta=vcdiff</c>: messages go out as vcdiff deltas against the previous one where that is smaller.</summary>
    public bool Deltas
    {
        get => _deltas is not null;
        init => _deltas = value ? new DeltaChain() : null;
    }

    /// <summary>Versions of originals at or before this offset need a first contact; 0 for a resumed attachment,
    /// whose client already holds what it had (it is replayed the versions themselves).</summary>
    internal long ContactFloor { get; set; }

    internal bool HasBacklog
    {
        get
        {
            lock (_gate)
            {
                return _backlog is not null;
            }
        }
    }

    internal void HoldBack()
    {
        lock (_gate)
        {
            _backlog = [];
        }
    }

    /// <summary>The originals a rewind sent whole: they are in contact already.</summary>
    internal void MarkContacted(long originalOffset)
    {
        lock (_gate)
        {
            (_contacted ??= []).Add(originalOffset);
        }
    }

    /// <summary>Queues everything held back since <see cref="HoldBack"/>, then delivers live.</summary>
    internal void ReleaseBacklog()
    {
        lock (_gate)
        {
            if (_backlog is { } backlog)
            {
                _backlog = null;
                foreach (var item in backlog)
                {
                    Send(item);
                }
            }
        }
    }

    /// <summary>Stops deliveries; one already being dispatched is dropped rather than sent after the DETACHED.</summary>
    internal void MarkDetached()
    {
        lock (_gate)
        {
            _detached = true;
        }
    }

    internal void Deliver(EncodedFrame frame)
    {
        // A filtered attachment gets no presence; a MESSAGE frame (a summary) reaches it only when the channel matched it.
        if (Filter is not null && frame.Message.Action != ProtocolAction.Message)
        {
            return;
        }

        if (WireName is { } wireName)
        {
            // Rare (presence on a qualified attachment): the shared frame names the plain channel, so encode our own.
            frame = new EncodedFrame(Renamed(frame.Message, wireName));
        }

        lock (_gate)
        {
            if (!_detached)
            {
                Hold(frame);
            }
        }
    }

    internal void Deliver(MessageBatch batch)
    {
        if (!Sink.EchoMessages && batch.PublisherConnectionId is { } publisher && publisher == Sink.ConnectionId)
        {
            return;
        }

        lock (_gate)
        {
            if (!_detached)
            {
                // Held back raw: what a first contact is depends on how the attach ends (a resume lowers the floor).
                Hold(batch);
            }
        }
    }

    /// <summary>Replayed messages go out ahead of the held-back live ones (the caller releases those after the replay).</summary>
    internal ValueTask SendReplayAsync(MessageBatch batch, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _detached) || Qualified(batch) is not { } qualified)
        {
            return ValueTask.CompletedTask;
        }

        if (_deltas is not { } deltas)
        {
            return Sink.EnqueueReplayAsync(qualified, cancellationToken);
        }

        MessageBatch? rest;
        lock (_gate)
        {
            qualified = deltas.Apply(qualified, out rest);
        }

        return rest is null ? Sink.EnqueueReplayAsync(qualified, cancellationToken) : SendReplayAsync(qualified, rest, cancellationToken);
    }

    /// <summary>
    /// A replayed frame (a resume's missed annotation or summary), queued behind the replay so far and ahead of the
    /// held-back live deliveries. Few enough not to need the replay's pacing.
    /// </summary>
    internal void SendReplay(EncodedFrame frame)
    {
        if (WireName is { } wireName)
        {
            frame = new EncodedFrame(Renamed(frame.Message, wireName));
        }

        lock (_gate)
        {
            if (!_detached)
            {
                Send(frame);
            }
        }
    }

    private async ValueTask SendReplayAsync(MessageBatch first, MessageBatch rest, CancellationToken cancellationToken)
    {
        await Sink.EnqueueReplayAsync(first, cancellationToken).ConfigureAwait(false);
        await Sink.EnqueueReplayAsync(rest, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The batch as this attachment must see it: first contacts and full-mode appends made whole. Caller holds the lock.</summary>
    private MessageBatch ForThisAttachment(MessageBatch batch)
    {
        DeliveredMessage[]? changed = null;
        for (var i = 0; i < batch.Messages.Length; i++)
        {
            var message = batch.Messages[i];
            if (message.VersionOf is not { } original)
            {
                continue;
            }

            var firstContact = original <= ContactFloor && (_contacted ??= []).Add(original);
            if (firstContact || (AppendModeFull && message.IsAppend))
            {
                changed ??= (DeliveredMessage[])batch.Messages.Clone();
                changed[i] = message.Whole;
            }
        }

        return changed is null ? batch : new MessageBatch(batch.Channel, batch.ChannelSerial, changed, batch.PublisherConnectionId) { IsReplay = batch.IsReplay, ComposedFromMessages = true };
    }

    private void Hold(object item)
    {
        if (_backlog is { } backlog)
        {
            backlog.Add(item);
        }
        else
        {
            Send(item);
        }
    }

    /// <summary>Caller holds the lock.</summary>
    private void Send(object item)
    {
        if (item is MessageBatch batch)
        {
            if (Qualified(batch.HasVersions ? ForThisAttachment(batch) : batch) is { } qualified)
            {
                if (_deltas is null)
                {
                    Sink.Enqueue(qualified);
                    return;
                }

                Sink.Enqueue(_deltas.Apply(qualified, out var rest));
                if (rest is not null)
                {
                    Sink.Enqueue(rest);
                }
            }
        }
        else
        {
            var frame = (EncodedFrame)item;
            if (frame.Message.Action == ProtocolAction.Message)
            {
                _deltas?.Reset();
            }

            Sink.Enqueue(frame);
        }
    }

    /// <summary>
    /// The batch under the attachment's wire name with only the messages its filter matches; null when none does
    /// (the client's channelSerial then stays at the last message it was sent, which a resume replays after — and
    /// filters — again). The unqualified path returns the shared batch itself.
    /// </summary>
    private MessageBatch? Qualified(MessageBatch batch)
    {
        if (WireName is not { } wireName)
        {
            return batch;
        }

        var messages = batch.Messages;
        if (Filter is { } filter)
        {
            var kept = 0;
            foreach (var message in messages)
            {
                kept += filter.Matches(message.Message) ? 1 : 0;
            }

            if (kept == 0)
            {
                return null;
            }

            if (kept < messages.Length)
            {
                messages = Matching(messages, filter);
            }
        }

        return new MessageBatch(wireName, batch.ChannelSerial, messages, batch.PublisherConnectionId) { IsReplay = batch.IsReplay, ComposedFromMessages = true };
    }

    // Its own method: a lambda in Qualified would have its closure allocated on every call, filtered or not.
    private static DeliveredMessage[] Matching(DeliveredMessage[] messages, MessageFilter filter) =>
        Array.FindAll(messages, m => filter.Matches(m.Message));

    private static ProtocolMessage Renamed(ProtocolMessage message, string channel) => new(message.Action)
    {
        Channel = channel,
        ChannelSerial = message.ChannelSerial,
        ConnectionId = message.ConnectionId,
        Timestamp = message.Timestamp,
        Flags = message.Flags,
        Id = message.Id,
        Messages = message.Messages,
        Presence = message.Presence,
        Annotations = message.Annotations,
    };
}
