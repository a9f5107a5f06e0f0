using TokenWire.Protocol;
using TokenWire.Server.Fanout;
using TokenWire.Server.Presence;

namespace TokenWire.Server.Channels;

/// <summary>
/// Presence delivery on this node: every attached transport is a presence subscriber. Events go to those attached
/// with PRESENCE_SUBSCRIBE and always to the connection whose member they are about (spec RTP17a: the SDK keeps its
/// own members from them and re-enters them after a reconnect). A subscriber added during attach holds events back
/// until its ATTACHED and SYNC are queued (<see cref="ChannelSubscriber.HoldBack"/>).
/// </summary>
public sealed partial class LocalChannel
{
    private ChannelSubscriber[] _presenceSubscribers = [];
    private IAsyncDisposable? _presenceSubscription;

    /// <summary>Registers a transport for presence events, holding them back until <see cref="ReleasePresenceBacklog"/>.</summary>
    /// <returns>
    /// The annotation mark at registration: every annotation event after it reaches <paramref name="subscriber"/>
    /// (see <see cref="ReplayMissedRawAnnotationsAsync"/> for those before it).
    /// </returns>
    public long AddPresenceSubscriber(ChannelSubscriber subscriber)
    {
        lock (_gate)
        {
            subscriber.HoldBack();
            _presenceSubscribers = [.. _presenceSubscribers, subscriber];
            return AnnotationMark;
        }
    }

    /// <summary>Queues the events held back since <see cref="AddPresenceSubscriber"/>, then delivers live.</summary>
    public void ReleasePresenceBacklog(ChannelSubscriber subscriber) => subscriber.ReleaseBacklog();

    public void RemovePresenceSubscriber(ChannelSubscriber subscriber)
    {
        lock (_gate)
        {
            _presenceSubscribers = Array.FindAll(_presenceSubscribers, s => s != subscriber);
        }

        subscriber.MarkDetached();
    }

    private void OnPresence(PresenceEvent presenceEvent)
    {
        var connectionId = presenceEvent.Messages[0].ConnectionId;
        EncodedFrame? frame = null;
        lock (_gate)
        {
            foreach (var subscriber in _presenceSubscribers)
            {
                if ((subscriber.Modes & ProtocolFlags.PresenceSubscribe) != 0 || subscriber.Sink.ConnectionId == connectionId)
                {
                    // Encoded lazily, once per wire format, and shared by every subscriber.
                    frame ??= new EncodedFrame(new ProtocolMessage(ProtocolAction.Presence)
                    {
                        Channel = Name,
                        ConnectionId = connectionId,
                        Timestamp = presenceEvent.Messages[0].Timestamp,
                        Presence = presenceEvent.Messages,
                    });
                    subscriber.Deliver(frame);
                }
            }
        }
    }
}
