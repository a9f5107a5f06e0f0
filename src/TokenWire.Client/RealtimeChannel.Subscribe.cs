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
    /// <summary>Copy-on-write under <see cref="Gate"/>, read without it on the delivery path.</summary>
    private Subscriber[] _subscribers = [];

    /// <summary>Calls <paramref name="handler"/> for every message; dispose the result to unsubscribe.</summary>
    public IDisposable Subscribe(Action<Message> handler) => AddHandler(null, handler);

    /// <summary>Calls <paramref name="handler"/> for every message called <paramref name="name"/>.</summary>
    public IDisposable Subscribe(string name, Action<Message> handler)
    {
        ArgumentNullException.ThrowIfNull(name);
        return AddHandler(name, handler);
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
        Add(new Subscriber(name, null, subscription));
        return subscription;
    }

    internal void Unsubscribe(object owner)
    {
        lock (Gate)
        {
            _subscribers = Array.FindAll(_subscribers, s => s.Owner != owner);
        }
    }

    internal void CompleteSubscriptions()
    {
        Subscriber[] subscribers;
        lock (Gate)
        {
            subscribers = _subscribers;
            _subscribers = [];
        }

        foreach (var subscriber in subscribers)
        {
            subscriber.Stream?.Complete();
        }

        Presence.CompleteSubscriptions();
        Annotations.CompleteSubscriptions();
    }

    private IDisposable AddHandler(string? name, Action<Message> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var registration = new HandlerRegistration(this);
        Add(new Subscriber(name, handler, registration));
        return registration;
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

    private void Add(Subscriber subscriber)
    {
        lock (Gate)
        {
            _subscribers = [.. _subscribers, subscriber];
        }

        AttachImplicitly();
    }

    /// <summary>
    /// A MESSAGE frame: decoded against the channel's delta base (RTL19), and only then does its channelSerial become
    /// the resume point. A delta that cannot be decoded drops the whole frame and re-attaches from the last frame
    /// decoded (RTL18), so no message is delivered wrong, missed or twice.
    /// </summary>
    private void OnMessage(ProtocolMessage frame)
    {
        Subscriber[] subscribers;
        lock (Gate)
        {
            if (_state != ChannelState.Attached)
            {
                DroppedNotAttached(_logger, Name, _state);
                return;
            }

            subscribers = _subscribers;
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

        List<Subscriber>? handlers = null;
        foreach (var subscriber in subscribers)
        {
            if (subscriber.Stream is { } stream)
            {
                foreach (var message in messages)
                {
                    if (subscriber.Matches(message) && !stream.TryWrite(message))
                    {
                        SubscriptionFull(_logger, Name, _clientOptions.SubscriptionCapacity);
                        if (MessageDropped is { } dropped)
                        {
                            var args = new MessageDroppedEventArgs(message, stream);
                            _events.Post(() => dropped(this, args));
                        }
                    }
                }
            }
            else
            {
                (handlers ??= []).Add(subscriber);
            }
        }

        if (handlers is not null)
        {
            _events.Post(() =>
            {
                foreach (var message in messages)
                {
                    foreach (var handler in handlers)
                    {
                        if (handler.Matches(message))
                        {
                            try
                            {
                                handler.Handler!(message);
                            }
                            catch (Exception ex)
                            {
                                HandlerFailed(_logger, ex, Name);
                            }
                        }
                    }
                }
            });
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

    private sealed record Subscriber(string? Name, Action<Message>? Handler, object Owner)
    {
        public MessageSubscription? Stream => Owner as MessageSubscription;

        public bool Matches(Message message) => Name is null || Name == message.Name;
    }

    private sealed class HandlerRegistration(RealtimeChannel channel) : IDisposable
    {
        public void Dispose() => channel.Unsubscribe(this);
    }
}
