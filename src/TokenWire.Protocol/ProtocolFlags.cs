namespace TokenWire.Protocol;

/// <summary>ProtocolMessage flags (spec TR3, reference §2.3). Low bits are state, bits 16+ are channel modes.</summary>
[Flags]
public enum ProtocolFlags
{
    None = 0,
    HasPresence = 1 << 0,
    HasBacklog = 1 << 1,
    Resumed = 1 << 2,
    Transient = 1 << 4,
    AttachResume = 1 << 5,
    HasObjects = 1 << 7,
    Presence = 1 << 16,
    Publish = 1 << 17,
    Subscribe = 1 << 18,
    PresenceSubscribe = 1 << 19,
    AnnotationPublish = 1 << 21,
    AnnotationSubscribe = 1 << 22,
    ObjectSubscribe = 1 << 24,
    ObjectPublish = 1 << 25,

    /// <summary>Every mode bit; used to split requested modes from state flags.</summary>
    AllModes = Presence | Publish | Subscribe | PresenceSubscribe | AnnotationPublish | AnnotationSubscribe
        | ObjectSubscribe | ObjectPublish,
}
