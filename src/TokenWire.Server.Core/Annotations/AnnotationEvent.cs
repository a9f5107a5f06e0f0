using TokenWire.Protocol;
using TokenWire.Server.Engine;

namespace TokenWire.Server.Annotations;

/// <summary>
/// One applied annotation as every node receives it: the annotation (serial, timestamp and id set) and its message's
/// summary right after it, rendered (<see cref="MessageSummary.Render"/>: the message's <c>annotations</c> field).
/// </summary>
public sealed record AnnotationEvent(ChannelKey Channel, Annotation Annotation, JsonPayload Summary);
