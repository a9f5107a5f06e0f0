using System.Buffers;
using TokenWire.Protocol.MessagePack;
using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>
/// A log entry as the log keeps it: the message's stored bytes (<see cref="StoredMessageCodec"/>), which a reader can
/// write to the wire as they are (<see cref="StoredMessageTranscoder"/>) or decode. An original's serial and timestamp
/// are not stored: they are its entry's position and log time. A version keeps its original's in its bytes.
/// </summary>
public readonly record struct StoredEntry(string Epoch, long Offset, long? VersionOf, long LoggedAt, ReadOnlyMemory<byte> Bytes)
{
    /// <summary>The serial the message is given (an original's, its position); null for a version, whose bytes hold it.</summary>
    public LogPosition? Position => VersionOf is null ? new LogPosition(Epoch, Offset) : null;

    /// <summary>The timestamp the message is given (an original's, its log time); null for a version, whose bytes hold it.</summary>
    public long? Timestamp => VersionOf is null ? LoggedAt : null;

    public LogEntry Decode()
    {
        var message = StoredMessageCodec.Decode(new ReadOnlySequence<byte>(Bytes));
        if (Position is { } position)
        {
            message.Serial = position.ToSerial();
            message.Timestamp = LoggedAt;
        }

        return new LogEntry(Offset, message, VersionOf) { LoggedAt = LoggedAt };
    }
}

/// <summary>
/// A read's entries that the log can also give as it stores them: a reader that only relays them (a resume's replay,
/// a history page) writes their bytes without decoding them. The in-memory engine's reads are such lists.
/// </summary>
public interface IStoredEntries
{
    /// <summary>The entry at <paramref name="index"/> as stored; false for one the read made instead (an original
    /// folded with its versions), which the list's indexer gives.</summary>
    bool TryGetStored(int index, out StoredEntry entry);
}
