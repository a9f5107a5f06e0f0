using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Channels;

/// <summary>
/// Where an attach landed. <see cref="AttachPosition"/> is the seam: everything at or before it is history
/// (<c>untilAttach</c>), everything after it is delivered live. <see cref="Resumed"/> means the requested
/// channelSerial was honoured and the gap after it replayed. <see cref="AnnotationMark"/> is the annotation side of the
/// seam (<see cref="ChannelSerials"/>), which ATTACHED's channelSerial carries.
/// </summary>
public sealed record AttachOutcome(LogPosition AttachPosition, bool Resumed, bool HasBacklog, bool ContinuityLost, long AnnotationMark = 0)
{
    public string ChannelSerial => ChannelSerials.Format(AttachPosition, AnnotationMark);
}
