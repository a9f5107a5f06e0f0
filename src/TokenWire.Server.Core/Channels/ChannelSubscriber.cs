using TokenWire.Protocol;
using TokenWire.Server.Fanout;

namespace TokenWire.Server.Channels;

/// <summary>
/// One transport's delivery registration on a <see cref="LocalChannel"/>. While <see cref="Backlog"/> is set the
/// subscriber is catching up (resume or rewind replay) and live frames are held back, in order, until the replay
/// has been queued. Owned by the channel's lock.
/// </summary>
public sealed class ChannelSubscriber(IFrameSink sink, ProtocolFlags modes)
{
    public IFrameSink Sink { get; } = sink;

    public ProtocolFlags Modes { get; } = modes;

    internal List<EncodedFrame>? Backlog { get; set; }

    internal void Deliver(EncodedFrame frame)
    {
        if (Backlog is { } backlog)
        {
            backlog.Add(frame);
        }
        else
        {
            Sink.Enqueue(frame);
        }
    }
}
