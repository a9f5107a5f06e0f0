using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// A stored message and its offset in the channel log. The message is complete and never mutated after append.
/// <see cref="VersionOf"/> is set for an update, delete or append: the offset of the original message it changes
/// (its <see cref="Message"/> is the broadcast form, carrying the original's serial and create time, as Ably sends it).
/// </summary>
public sealed record LogEntry(long Offset, Message Message, long? VersionOf = null)
{
    public bool IsVersion => VersionOf is not null;

    /// <summary>When the log appended this entry: the message's timestamp, or for a version its version's. Entries'
    /// times never decrease along the log, so time bounds are binary searches over it.</summary>
    public long LoggedAt { get; init; }
}
