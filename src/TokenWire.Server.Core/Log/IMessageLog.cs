using TokenWire.Protocol;
using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>
/// The ordered, retained log of each channel: the source of truth for order, history and replay.
/// <list type="bullet">
/// <item>The log assigns each appended message its offset, <c>serial</c> and <c>timestamp</c>, atomically per channel:
/// offsets are gap-free and every node sees one order per channel.</item>
/// <item>Append is idempotent by message id within the retention's idempotency window: a repeated id is not stored
/// again and gets its original serial back (this also absorbs realtime retransmissions after a resume, whose ids are
/// <c>connectionId:msgSerial:index</c>).</item>
/// <item>An acknowledged append is durable for as long as the retention keeps it; the caller must not acknowledge
/// before <see cref="AppendAsync"/> completes.</item>
/// <item>Positions carry an epoch; a log that is lost and rebuilt gets a new, greater epoch, so old positions are
/// reported as discontinuous rather than silently reused.</item>
/// <item>Mutable channels: an update, delete or append is a log entry of its own (offset, serial) recording a version
/// of an earlier message; <see cref="ReadAfterAsync"/> returns it as delivered live, while history and rewind show
/// each original message once, folded with its versions up to the read's bound (<see cref="MessageAggregation"/>).</item>
/// </list>
/// Node-local state (connections, sockets, subscribers) never lives here. <c>CancellationToken</c> cancels the wait,
/// not an append already applied.
/// </summary>
public interface IMessageLog
{
    /// <summary>Appends messages (ids already set by the caller) in order; see the type's contract.</summary>
    ValueTask<AppendResult> AppendAsync(string channelKey, IReadOnlyList<Message> messages, ChannelRetention retention, CancellationToken cancellationToken = default);

    /// <summary>The position of the last appended message (offset 0 when the channel has none).</summary>
    ValueTask<LogPosition> GetHeadAsync(string channelKey, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="max"/> entries after <paramref name="after"/>, oldest first.</summary>
    ValueTask<ReadResult> ReadAfterAsync(string channelKey, LogPosition after, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// The last <paramref name="count"/> original messages, or those at or after <paramref name="sinceMs"/>, up to
    /// <paramref name="upTo"/>, each folded with its versions up to <paramref name="upTo"/> (rewind).
    /// </summary>
    ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(string channelKey, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a version of an existing message: checks it exists (40400), ownership (40160) and append rules (40013)
    /// atomically with the append, merges the name and extras it does not change, and stamps the version serial.
    /// Idempotent by the operation's id like <see cref="AppendAsync"/>.
    /// </summary>
    ValueTask<AppendResult> AppendMutationAsync(string channelKey, MessageMutation mutation, ChannelRetention retention, CancellationToken cancellationToken = default);

    /// <summary>The original message at <paramref name="serial"/> and its versions, or null if there is none.</summary>
    ValueTask<MessageVersions?> ReadMessageAsync(string channelKey, LogPosition serial, CancellationToken cancellationToken = default);

    /// <summary>Original messages only, each folded with its versions up to the query's <c>Until</c> (or the head).</summary>
    ValueTask<HistoryPage> ReadHistoryAsync(string channelKey, HistoryQuery query, CancellationToken cancellationToken = default);
}
