using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Subscriptions and inbound messages (spec RTL7, RTL17). Messages arriving while the channel is not ATTACHED are
/// dropped; every MESSAGE's channelSerial is recorded for the next re-attach. Handlers run on the client's event
/// loop, in order; <see cref="SubscribeAsync"/> buffers per subscription.
/// </summary>
public sealed partial class RealtimeChannel
{
    private readonly SubscriberList<Message> _subscribers;

    /// <summary>Calls <paramref name="handler"/> for every message; dispose the result to unsubscribe.</summary>
    public IDisposable Subscribe(Action<Message> handler) => Added(_subscribers.AddHandler(null, handler));

    /// <summary>Calls <paramref name="handler"/> for every message called <paramref name="name"/>.</summary>
    public IDisposable Subscribe(string name, Action<Message> handler)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Added(_subscribers.AddHandler(NameFilter(name), handler));
    }

    /// <summary>
    /// Subscribes (to messages called <paramref name="name"/>, or all) and returns the subscription to read with
    /// <c>await foreach</c>. Registration happens now, not at the first <c>MoveNextAsync</c>. Cancelling
    /// <paramref name="cancellationToken"/> ends the subscription.
    /// </summary>
    public MessageSubscription SubscribeAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var subscription = new MessageSubscription(this, name, _clientOptions.SubscriptionCapacity, cancellationToken);
        _subscribers.AddSubscription(NameFilter(name), subscription);
        return Added(subscription);
    }

    internal void Unsubscribe(object owner) => _subscribers.Remove(owner);

    internal void CompleteSubscriptions()
    {
        _subscribers.CompleteAll();
        Presence.CompleteSubscriptions();
        Annotations.CompleteSubscriptions();
    }

    /// <summary>Implicit attach on subscribe (RTL7g, RTP6c) unless <see cref="ChannelOptions.AttachOnSubscribe"/> is off.</summary>
    internal void AttachImplicitly()
    {
        bool attach;
        lock (Gate)
        {
            attach = _options.AttachOnSubscribe && _state is ChannelState.Initialized or ChannelState.Detached or ChannelState.Detaching;
        }

        if (attach)
        {
            // Implicit attach (RTL7g): failures surface as channel state changes, and are logged here.
            _ = AttachAsync().ContinueWith(
                static (task, state) =>
                {
                    var channel = (RealtimeChannel)state!;
                    ImplicitAttachFailed(channel._logger, channel.Name, task.Exception!.GetBaseException().Message);
                },
                this,
                CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }
    }

    /// <summary>Registered: now the implicit attach (RTL7g), whose outcome the subscriber sees as channel state.</summary>
    private T Added<T>(T subscription)
    {
        AttachImplicitly();
        return subscription;
    }

    private static Func<Message, bool>? NameFilter(string? name) => name is null ? null : m => m.Name == name;

    /// <summary>
    /// A MESSAGE frame: decoded against the channel's delta base (RTL19), and only then does its channelSerial become
    /// the resume point. A delta that cannot be decoded drops the whole frame and re-attaches from the last frame
    /// decoded (RTL18), so no message is delivered wrong, missed or twice.
    /// </summary>
    private void OnMessage(ProtocolMessage frame)
    {
        SubscriberList<Message>.Entry[] subscribers;
        lock (Gate)
        {
            if (_state != ChannelState.Attached)
            {
                DroppedNotAttached(_logger, Name, _state);
                return;
            }

            subscribers = _subscribers.SnapshotLocked;
        }

        var messages = frame.Messages ?? [];
        AblyException? failure = null;

        // Children inherit id, connectionId and timestamp from the ProtocolMessage (TM2a, TM2c, TM2f).
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (message.Id is null && frame.Id is not null)
            {
                message.Id = string.Concat(frame.Id, ":", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            message.ConnectionId ??= frame.ConnectionId;
            message.Timestamp ??= frame.Timestamp;
            try
            {
                PayloadCodec.Decode(message, _deltaBase);
            }
            catch (AblyException ex) when (ex.Code == DeltaBase.DecodeFailedCode)
            {
                failure = ex;
                break;
            }
        }

        lock (Gate)
        {
            if (_state != ChannelState.Attached)
            {
                // Left ATTACHED while decoding: the next attachment resumes before this frame.
                DroppedNotAttached(_logger, Name, _state);
                return;
            }

            if (failure is not null)
            {
                DeltaDecodeFailed(_logger, Name, failure.ErrorInfo.Message);
                BeginAttachLocked(failure.ErrorInfo);
                return;
            }

            if (frame.ChannelSerial is { } serial)
            {
                _channelSerial = serial;
            }
        }

        if (messages.Count == 0)
        {
            return;
        }

        _subscribers.Deliver(subscribers, messages, OnSubscriptionFull, ex => HandlerFailed(_logger, ex, Name));
    }

    private void OnSubscriptionFull(Message message, BufferedSubscription<Message> subscription)
    {
        SubscriptionFull(_logger, Name, _clientOptions.SubscriptionCapacity);
        if (MessageDropped is { } dropped)
        {
            var args = new MessageDroppedEventArgs(message, (MessageSubscription)subscription);
            _events.Post(() => dropped(this, args));
        }
    }

    /// <summary>PRESENCE and SYNC, for attached channels only, like messages (RTL17).</summary>
    private void OnPresence(ProtocolMessage frame)
    {
        List<PresenceMessage> events;
        lock (Gate)
        {
            if (_state != ChannelState.Attached)
            {
                DroppedNotAttached(_logger, Name, _state);
                return;
            }

            if (frame.Action == ProtocolAction.Presence)
            {
                // A SYNC's channelSerial is its cursor, not a channel position: only PRESENCE moves the resume point.
                if (frame.ChannelSerial is { } serial)
                {
                    _channelSerial = serial;
                }

                events = Presence.OnPresenceLocked(frame);
            }
            else
            {
                events = Presence.OnSyncLocked(frame);
            }
        }

        Presence.Emit(events);
    }

    /// <summary>ANNOTATION, for attached channels only, like messages; it moves the resume point too.</summary>
    private void OnAnnotation(ProtocolMessage frame)
    {
        lock (Gate)
        {
            if (_state != ChannelState.Attached)
            {
                DroppedNotAttached(_logger, Name, _state);
                return;
            }

            if (frame.ChannelSerial is { } serial)
            {
                _channelSerial = serial;
            }
        }

        Annotations.OnAnnotations(frame);
    }

}
