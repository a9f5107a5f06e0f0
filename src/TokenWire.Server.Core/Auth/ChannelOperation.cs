namespace TokenWire.Server.Auth;

/// <summary>Capability operations (reference §6), as flags so a resource's grants are one integer.</summary>
[Flags]
public enum ChannelOperation
{
    None = 0,
    Publish = 1 << 0,
    Subscribe = 1 << 1,
    Presence = 1 << 2,
    History = 1 << 3,
    Stats = 1 << 4,
    ChannelMetadata = 1 << 5,
    PushSubscribe = 1 << 6,
    PushAdmin = 1 << 7,
    PrivilegedHeaders = 1 << 8,
    ObjectSubscribe = 1 << 9,
    ObjectPublish = 1 << 10,
    AnnotationSubscribe = 1 << 11,
    AnnotationPublish = 1 << 12,
    MessageUpdateOwn = 1 << 13,
    MessageUpdateAny = 1 << 14,
    MessageDeleteOwn = 1 << 15,
    MessageDeleteAny = 1 << 16,
    All = (1 << 17) - 1,
}
