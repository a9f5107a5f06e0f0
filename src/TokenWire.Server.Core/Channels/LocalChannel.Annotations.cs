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
/// <para>
/// A filtered attachment gets a message's summaries when its filter matches the message: its name and headers as
/// created, read from the log once per annotated message and only while a filtered attachment is here (kept for the
/// next summaries of the same message, <see cref="MaxSubjects"/> at most).
/// </para>
/// </summary>
public sealed partial class LocalChannel
{
    /// <summary>Filter subjects kept for summaries to filtered attachments; past it the cache starts again.</summary>
    private const int MaxSubjects = 1024;

    private readonly List<AnnotationEvent> _pendingAnnotations = [];

    /// <summary>Annotated messages' name and extras (null: not in the log), for filtered attachments.</summary>
    private readonly Dictionary<string, Message?> _subjects = new(StringComparer.Ordinal);
    private bool _loadingSubject;
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
        if (_pendingAnnotations.Count == 0 || _fillingAnnotations || _loadingSubject)
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

                if (NeedsSubject(applied.Annotation.MessageSerial!))
                {
                    _loadingSubject = true;
                    _ = LoadSubjectAsync(applied.Annotation.MessageSerial!);
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

    /// <summary>Whether a filtered attachment is here and the message's filter subject is not known yet. Caller holds the lock.</summary>
    private bool NeedsSubject(string messageSerial)
    {
        if (_subjects.ContainsKey(messageSerial))
        {
            return false;
        }

        foreach (var subscriber in _subscribers)
        {
            if (subscriber.Filter is not null)
            {
                return true;
            }
        }

        return false;
    }

    private async Task LoadSubjectAsync(string messageSerial)
    {
        var subject = await ReadSubjectAsync(messageSerial, CancellationToken.None).ConfigureAwait(false);
        lock (_gate)
        {
            _loadingSubject = false;
            RememberSubject(messageSerial, subject);
            DrainAnnotations();
        }
    }

    /// <summary>The message's name and extras as created (what a filter sees), or null when the log has no such message.</summary>
    private async ValueTask<Message?> ReadSubjectAsync(string messageSerial, CancellationToken cancellationToken)
    {
        try
        {
            if (LogPosition.TryParse(messageSerial, out var position)
                && await _log.ReadMessageAsync(Key, position, cancellationToken).ConfigureAwait(false) is { } versions)
            {
                return new Message { Name = versions.Original.Message.Name, Extras = versions.Original.Message.Extras };
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not worth holding the channel's annotations back for: filtered attachments miss this summary.
            SubjectReadFailed(_logger, Key, messageSerial, ex.Message);
        }

        return null;
    }

    /// <summary>Caller holds the lock.</summary>
    private void RememberSubject(string messageSerial, Message? subject)
    {
        if (_subjects.Count >= MaxSubjects)
        {
            _subjects.Clear();
        }

        _subjects[messageSerial] = subject;
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
            _dispatcher.Post(SummaryFrame(Name, applied, ChannelSerials.Format(position, ChannelSerials.SummaryMark(applied.Sequence))), SummaryTargets(applied.Annotation.MessageSerial!));
        }
    }

    /// <summary>The subscribers a message's summary goes to: every one whose filter, if any, matches the message. Caller holds the lock.</summary>
    private ChannelSubscriber[] SummaryTargets(string messageSerial)
    {
        if (Array.TrueForAll(_subscribers, s => s.Filter is null))
        {
            return _subscribers;
        }

        var subject = _subjects.GetValueOrDefault(messageSerial);
        return Array.FindAll(_subscribers, s => s.Filter is not { } filter || (subject is not null && filter.Matches(subject)));
    }

    /// <summary>
    /// A resume's annotation gap: every event after the client's mark up to the attach's, read from the store, queued
    /// after the replayed messages (so a summary follows its message) and ahead of the live deliveries held back.
    /// </summary>
    private async Task ReplayAnnotationsAsync(ChannelSubscriber subscriber, LogPosition attachPosition, long fromMark, long attachMark, CancellationToken cancellationToken, bool summaries = true)
    {
        var after = fromMark / 2; // every event at or before it reached the client whole
        var last = attachMark / 2;
        var subjects = subscriber.Filter is null || !summaries ? null : new Dictionary<string, Message?>(StringComparer.Ordinal);
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

                if (subjects is not null)
                {
                    var serial = applied.Annotation.MessageSerial!;
                    if (!subjects.TryGetValue(serial, out var subject))
                    {
                        subjects[serial] = subject = await ReadSubjectAsync(serial, cancellationToken).ConfigureAwait(false);
                    }

                    if (subject is null || !subscriber.Filter!.Matches(subject))
                    {
                        after = applied.Sequence;
                        continue;
                    }
                }

                if (summaries)
                {
                    subscriber.SendReplay(SummaryFrame(Name, applied, ChannelSerials.Format(attachPosition, ChannelSerials.SummaryMark(applied.Sequence))));
                }

                after = applied.Sequence;
            }
        }
    }

    /// <summary>
    /// A resumed attachment with ANNOTATION_SUBSCRIBE but not SUBSCRIBE gets its raw annotations through its presence
    /// subscriber (<see cref="PostAnnotation"/>), which has been sent every event after <paramref name="registeredMark"/>
    /// since <see cref="AddPresenceSubscriber"/>, held back: the ones the client missed before that go ahead of them.
    /// (An attachment that subscribes has its gap replayed by <see cref="AttachAsync"/>.)
    /// </summary>
    public Task ReplayMissedRawAnnotationsAsync(ChannelSubscriber presenceSubscriber, AttachOutcome outcome, long fromMark, long registeredMark, CancellationToken cancellationToken) =>
        outcome.Resumed && fromMark < registeredMark
        && (presenceSubscriber.Modes & (ProtocolFlags.Subscribe | ProtocolFlags.AnnotationSubscribe)) == ProtocolFlags.AnnotationSubscribe
            ? ReplayAnnotationsAsync(presenceSubscriber, outcome.AttachPosition, fromMark, registeredMark, cancellationToken, summaries: false)
            : Task.CompletedTask;

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: reading message {Serial} for filtered attachments failed ({Reason}); they miss its summary")]
    private static partial void SubjectReadFailed(ILogger logger, ChannelKey channel, string serial, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel {Channel}: annotation events {From}..{To} are no longer retained and were not delivered")]
    private static partial void AnnotationsSkipped(ILogger logger, ChannelKey channel, long from, long to);
}
