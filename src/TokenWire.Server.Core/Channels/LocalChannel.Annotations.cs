using TokenWire.Protocol;
using TokenWire.Server.Annotations;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// Annotation delivery on this node (spec RTAN4, TM2u): each applied annotation goes out as an ANNOTATION to the
/// attachments with ANNOTATION_SUBSCRIBE (granted only with the <c>annotation-subscribe</c> capability), and its
/// message's new summary as a <c>message.summary</c> MESSAGE to every subscribing attachment. Both frames are encoded
/// once per wire format and shared; <c>echo=false</c> keeps a connection's own annotations from it.
/// </summary>
public sealed partial class LocalChannel
{
    private IAsyncDisposable? _annotationSubscription;

    private void OnAnnotation(AnnotationEvent applied)
    {
        var annotation = applied.Annotation;
        EncodedFrame? raw = null;
        lock (_gate)
        {
            // Every attached transport is a presence subscriber, whether or not it subscribes to messages.
            foreach (var subscriber in _presenceSubscribers)
            {
                if ((subscriber.Modes & ProtocolFlags.AnnotationSubscribe) != 0
                    && (subscriber.Sink.EchoMessages || annotation.ConnectionId is null || annotation.ConnectionId != subscriber.Sink.ConnectionId))
                {
                    raw ??= new EncodedFrame(new ProtocolMessage(ProtocolAction.Annotation)
                    {
                        Channel = Name,
                        Annotations = [annotation],
                    });
                    subscriber.Deliver(raw);
                }
            }

            // After every delivery posted before it: a subscriber never sees a summary before its message.
            if (_subscribers.Length > 0)
            {
                _dispatcher.Post(
                    new EncodedFrame(new ProtocolMessage(ProtocolAction.Message)
                    {
                        Channel = Name,
                        Messages =
                        [
                            new Message
                            {
                                Action = MessageActions.Summary,
                                Serial = annotation.MessageSerial,
                                Timestamp = annotation.Timestamp,
                                Annotations = applied.Summary,
                            },
                        ],
                    }),
                    _subscribers);
            }
        }
    }
}
