using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Log;

namespace TokenWire.Server.Engine;

/// <summary>
/// The ordered, retained log of each channel: the source of truth for order, history and replay; and the sending half
/// of the engine's delivery (<see cref="IMessageBus"/> is the receiving half).
/// <list type="bullet">
/// <item>The log assigns each appended message its offset, <c>serial</c> and <c>timestamp</c>, atomically per channel:
/// offsets are gap-free and every node sees one order per channel.</item>
/// <item>Append is idempotent by message id within the retention's idempotency window: a repeated id is not stored
/// again and gets its original serial back (this also absorbs realtime retransmissions after a resume, whose ids are
/// <c>connectionId:msgSerial:index</c>).</item>
/// <item>The engine delivers what an append added: one <see cref="BusEnvelope"/> of the appended entries, in log
/// order, to the channel's <see cref="IMessageBus"/> subscribers on every node, its publisher being the messages'
/// <c>connectionId</c>. It may do so atomically with the append (then every node receives appends in log order) or
/// after it; receivers order by offset either way. Delivery is best-effort: an append that returned is committed
/// whether or not its envelope arrives (receivers fill gaps from the log). Nothing else publishes appended entries.</item>
/// <item>Order per publisher: an append given <c>after</c> (the id of the publisher's previous message on the channel)
/// is stored only if that message is in the log (within the idempotency window); otherwise nothing is stored and
/// <see cref="AppendOutOfOrderException"/> is thrown. Retried appends thus never overtake earlier ones.</item>
/// <item>An engine whose store cannot be reached throws <see cref="EngineUnavailableException"/>: the append may or may
/// not have been applied, and retrying it is safe (idempotency).</item>
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
    /// <summary>Appends messages (ids already set by the caller) in order and delivers them; see the type's contract.</summary>
    /// <param name="after">The id of the message that must already be in the log, or null.</param>
    ValueTask<AppendResult> AppendAsync(ChannelKey channel, IReadOnlyList<Message> messages, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default);

    /// <summary>The position of the last appended message (offset 0 when the channel has none).</summary>
    ValueTask<LogPosition> GetHeadAsync(ChannelKey channel, CancellationToken cancellationToken = default);

    /// <summary>Up to <paramref name="max"/> entries after <paramref name="after"/>, oldest first.</summary>
    ValueTask<ReadResult> ReadAfterAsync(ChannelKey channel, LogPosition after, int max, CancellationToken cancellationToken = default);

    /// <summary>
    /// The last <paramref name="count"/> original messages, or those at or after <paramref name="sinceMs"/>, up to
    /// <paramref name="upTo"/>, each folded with its versions up to <paramref name="upTo"/> (rewind).
    /// </summary>
    ValueTask<IReadOnlyList<LogEntry>> ReadRecentAsync(ChannelKey channel, int? count, long? sinceMs, LogPosition upTo, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends a version of an existing message: checks it exists (40400), ownership (40160) and append rules (40013)
    /// atomically with the append, merges the name and extras it does not change, and stamps the version serial.
    /// Idempotent by the operation's id, and ordered by <paramref name="after"/>, like <see cref="AppendAsync"/>. The version is delivered like an append's
    /// entries, with the mutation's <see cref="MessageMutation.AppendRollupWindow"/>.
    /// </summary>
    /// <param name="after">As for <see cref="AppendAsync"/>.</param>
    ValueTask<AppendResult> AppendMutationAsync(ChannelKey channel, MessageMutation mutation, ChannelRetention retention, string? after = null, CancellationToken cancellationToken = default);

    /// <summary>The original message at <paramref name="serial"/> and its versions, or null if there is none.</summary>
    ValueTask<MessageVersions?> ReadMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default);

    /// <summary>
    /// Whether an original message is at <paramref name="serial"/> (not a version, not expired): what an annotation's
    /// target check needs, without reading or decoding the message's versions.
    /// </summary>
    ValueTask<bool> ContainsMessageAsync(ChannelKey channel, LogPosition serial, CancellationToken cancellationToken = default);

    /// <summary>Original messages only, each folded with its versions up to the query's <c>Until</c> (or the head).</summary>
    ValueTask<HistoryPage> ReadHistoryAsync(ChannelKey channel, HistoryQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Delivers ephemeral messages (<c>extras.ephemeral</c>, stamped by the caller) to the channel's subscribers on
    /// every node without storing them: no offset, no serial, never in history, rewind or a resume's replay.
    /// </summary>
    ValueTask PublishEphemeralAsync(ChannelKey channel, IReadOnlyList<Message> messages, CancellationToken cancellationToken = default);
}
