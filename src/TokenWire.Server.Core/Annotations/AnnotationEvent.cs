using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Annotations;

/// <summary>
/// One applied annotation as every node receives it: the annotation (serial, timestamp and id set) and its message's
/// summary right after it, rendered (<see cref="MessageSummary.Render"/>: the message's <c>annotations</c> field).
/// <see cref="Sequence"/> numbers the channel's applied annotations from 1, in the order applied, so a node can order
/// them, notice a gap and replay what a resuming client missed (<see cref="IAnnotationStore.ReadEventsAsync"/>); a
/// repeated id's publish returns the earlier event, whose sequence a store may not know (0).
/// </summary>
public sealed record AnnotationEvent(ChannelKey Channel, Annotation Annotation, JsonPayload Summary, long Sequence = 0);
