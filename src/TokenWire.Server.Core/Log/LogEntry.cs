using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// A stored message and its offset in the channel log. The message is complete and never mutated after append.
/// <see cref="VersionOf"/> is set for an update, delete or append: the offset of the original message it changes
/// (its <see cref="Message"/> is the broadcast form, carrying the original's serial and create time, as Ably sends it).
/// </summary>
public sealed record LogEntry(long Offset, Message Message, long? VersionOf = null)
{
    // Offsets start at 1, so 0 stands for "not a version": a long, not a long? (8 bytes less on every entry, and a
    // publish makes one).
    private readonly long _versionOf = StoredVersionOf(VersionOf);

    /// <summary>For an update, delete or append: the offset of the original message it changes.</summary>
    public long? VersionOf
    {
        get => _versionOf == 0 ? null : _versionOf;
        init => _versionOf = StoredVersionOf(value);
    }

    public bool IsVersion => VersionOf is not null;

    /// <summary>When the log appended this entry: the message's timestamp, or for a version its version's. Entries'
    /// times never decrease along the log, so time bounds are binary searches over it.</summary>
    public long LoggedAt { get; init; }

    private static long StoredVersionOf(long? versionOf)
    {
        if (versionOf is { } offset)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(offset, nameof(VersionOf));
        }

        return versionOf ?? 0;
    }
}
