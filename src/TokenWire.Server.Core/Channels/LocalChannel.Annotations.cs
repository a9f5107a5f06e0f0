using Microsoft.Extensions.Logging;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// Annotation delivery on this node (spec RTAN4, TM2u): each applied annotation goes out as an ANNOTATION to the
/// attachments with ANNOTATION_SUBSCRIBE (granted only with the <c>annotation-subscribe</c> capability), and its
/// message's new summary as a <c>message.summary</c> MESSAGE to every subscribing attachment. Both frames are encoded
/// once per wire format and shared; <c>echo=false</c> keeps a connection's own annotations from it.
/// <para>
/// Events are delivered in their sequence order (<see cref="AnnotationEvent.Sequence"/>), a gap filled from the store,
/// and each only once this node has delivered the message it annotates: a subscriber never sees a summary before its
/// message, whichever of the engine's two streams arrives first. Both frames go through the dispatcher, behind the
/// deliveries posted before them, and carry the channel's annotation mark in their channelSerial
/// (<see cref="ChannelSerials"/>), which a resume replays after (<see cref="ReplayAnnotationsAsync"/>).
/// </para>
/// </summary>
public sealed partial class LocalChannel
{
    private readonly List<AnnotationEvent> _pendingAnnotations = [];
    private IAsyncDisposable? _annotationSubscription;

    /// <summary>The sequence of the last annotation event posted (or known to be history at start).</summary>
    private long _annotationSequence;
    private bool _fillingAnnotations;

    /// <summary>The channelSerial an ATTACHED sent now carries: the cursor and the annotation mark.</summary>
    public string CursorSerial
    {
        get
        {
            lock (_gate)
            {
                return ChannelSerials.Format(new LogPosition(_epoch, _cursor), ChannelSerials.SummaryMark(_annotationSequence));
            }
        }
    }

    /// <summary>The annotation mark every frame posted now carries. Caller holds the lock.</summary>
    private long AnnotationMark => ChannelSerials.SummaryMark(_annotationSequence);

    private void OnAnnotation(AnnotationEvent applied)
    {
        if (applied.Sequence <= 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            _pendingAnnotations.Add(applied);
            if (_ready)
            {
                DrainAnnotations();
            }
        }
    }

    /// <summary>
    /// Posts the pending events that continue the sequence and whose message this node has delivered; starts a fill
    /// from the store at a gap. Caller holds the lock; called again whenever the cursor moves.
    /// </summary>
    private void DrainAnnotations()
    {
        if (_pendingAnnotations.Count == 0 || _fillingAnnotations)
        {
            return;
        }

        _pendingAnnotations.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        var done = 0;
        foreach (var applied in _pendingAnnotations)
        {
            if (applied.Sequence > _annotationSequence + 1)
            {
                _fillingAnnotations = true;
                _ = FillAnnotationsAsync(_annotationSequence, applied.Sequence);
                break;
            }

            if (applied.Sequence == _annotationSequence + 1)
            {
                if (!Delivered(applied.Annotation.MessageSerial))
                {
                    break;
                }

                PostAnnotation(applied);
                _annotationSequence = applied.Sequence;
            }

            done++; // posted, or a duplicate
        }

        _pendingAnnotations.RemoveRange(0, done);
    }

    /// <summary>Whether the message a serial names is at or before the cursor. Caller holds the lock.</summary>
    private bool Delivered(string? messageSerial)
    {
        if (!LogPosition.TryParse(messageSerial, out var position))
        {
            return true;
        }

        var epochs = string.CompareOrdinal(position.Epoch, _epoch);
        return epochs < 0 || (epochs == 0 && position.Offset <= _cursor);
    }

    /// <summary>Reads the events between the sequence and <paramref name="next"/> from the store, then drains again.</summary>
    private async Task FillAnnotationsAsync(long after, long next)
    {
        while (true)
        {
            try
            {
                var read = await _annotations!.ReadEventsAsync(Key, after, (int)Math.Min(ReadBatch, next - after - 1)).ConfigureAwait(false);
                lock (_gate)
                {
                    _fillingAnnotations = false;
                    var first = read.Count > 0 ? read[0].Sequence : next;
                    if (first > _annotationSequence + 1)
                    {
                        // No longer retained: deliver what the store still has.
                        AnnotationsSkipped(_logger, Key, _annotationSequence + 1, first - 1);
                        _annotationSequence = first - 1;
                    }

                    _pendingAnnotations.AddRange(read);
                    DrainAnnotations();
                    return;
                }
            }
            catch (Exception ex)
            {
                AnnotationFillFailed(_logger, ex, Key);
                await Task.Delay(TimeSpan.FromMilliseconds(100)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Posts one event's frames to the dispatcher. Caller holds the lock.</summary>
    private void PostAnnotation(AnnotationEvent applied)
    {
        var annotation = applied.Annotation;
        var position = new LogPosition(_epoch, _cursor);
        List<ChannelSubscriber>? raw = null;

        // A subscribing attachment gets its raw annotations through its message subscriber, so they keep their place
        // among its messages (and the resume seam is that subscriber's); one that does not subscribe, through its
        // presence subscriber (every attached transport has one).
        foreach (var subscriber in _subscribers)
        {
            if (WantsRaw(subscriber, annotation))
            {
                (raw ??= []).Add(subscriber);
            }
        }

        foreach (var subscriber in _presenceSubscribers)
        {
            if ((subscriber.Modes & ProtocolFlags.Subscribe) == 0 && WantsRaw(subscriber, annotation))
            {
                (raw ??= []).Add(subscriber);
            }
        }

        if (raw is not null)
        {
            _dispatcher.Post(RawFrame(Name, annotation, ChannelSerials.Format(position, ChannelSerials.RawMark(applied.Sequence))), [.. raw]);
        }

        if (_subscribers.Length > 0)
        {
            _dispatcher.Post(SummaryFrame(Name, applied, ChannelSerials.Format(position, ChannelSerials.SummaryMark(applied.Sequence))), _subscribers);
        }
    }

    /// <summary>
    /// A resume's annotation gap: every event after the client's mark up to the attach's, read from the store, queued
    /// after the replayed messages (so a summary follows its message) and ahead of the live deliveries held back.
    /// </summary>
    private async Task ReplayAnnotationsAsync(ChannelSubscriber subscriber, LogPosition attachPosition, long fromMark, long attachMark, CancellationToken cancellationToken)
    {
        var after = fromMark / 2; // every event at or before it reached the client whole
        var last = attachMark / 2;
        while (_annotations is not null && after < last)
        {
            var read = await _annotations.ReadEventsAsync(Key, after, (int)Math.Min(ReadBatch, last - after), cancellationToken).ConfigureAwait(false);
            if (read.Count == 0)
            {
                AnnotationsSkipped(_logger, Key, after + 1, last);
                return;
            }

            foreach (var applied in read)
            {
                if (applied.Sequence > last)
                {
                    return;
                }

                if (ChannelSerials.RawMark(applied.Sequence) > fromMark && WantsRaw(subscriber, applied.Annotation))
                {
                    subscriber.SendReplay(RawFrame(Name, applied.Annotation, ChannelSerials.Format(attachPosition, ChannelSerials.RawMark(applied.Sequence))));
                }

                subscriber.SendReplay(SummaryFrame(Name, applied, ChannelSerials.Format(attachPosition, ChannelSerials.SummaryMark(applied.Sequence))));
                after = applied.Sequence;
            }
        }
    }

    private static bool WantsRaw(ChannelSubscriber subscriber, Annotation annotation) =>
        (subscriber.Modes & ProtocolFlags.AnnotationSubscribe) != 0
        && (subscriber.Sink.EchoMessages || annotation.ConnectionId is null || annotation.ConnectionId != subscriber.Sink.ConnectionId);

    private static EncodedFrame RawFrame(string channel, Annotation annotation, string channelSerial) =>
        new(new ProtocolMessage(ProtocolAction.Annotation)
        {
            Channel = channel,
            ChannelSerial = channelSerial,
            Annotations = [annotation],
        });

    private static EncodedFrame SummaryFrame(string channel, AnnotationEvent applied, string channelSerial) =>
        new(new ProtocolMessage(ProtocolAction.Message)
        {
            Channel = channel,
            ChannelSerial = channelSerial,
            Messages =
            [
                new Message
                {
                    Action = MessageActions.Summary,
                    Serial = applied.Annotation.MessageSerial,
                    Timestamp = applied.Annotation.Timestamp,
                    Annotations = applied.Summary,
                },
            ],
        });

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: reading annotation events to fill a gap failed; retrying")]
    private static partial void AnnotationFillFailed(ILogger logger, Exception exception, ChannelKey channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: annotation events {From}..{To} are no longer retained and were not delivered")]
    private static partial void AnnotationsSkipped(ILogger logger, ChannelKey channel, long from, long to);
}
