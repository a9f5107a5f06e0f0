using TokenWire.Server.Log;

namespace TokenWire.Server.Engine;

/// <summary>
/// What the engine delivers for one append: the appended entries of one channel, in log order, all from one publish.
/// <see cref="PublisherConnectionId"/> (the messages' <c>connectionId</c>) travels beside the messages so echo
/// suppression needs no re-encoding. <see cref="Ephemeral"/> envelopes carry messages that were not stored
/// (<c>extras.ephemeral</c>): they have no offset or serial and are delivered live, as they arrive, outside the
/// log's order. A struct: one is made per append and handed down the engine's delivery call by value.
/// </summary>
public readonly record struct BusEnvelope(ChannelKey Channel, string Epoch, IReadOnlyList<LogEntry> Entries, string? PublisherConnectionId, bool Ephemeral = false)
{
    /// <summary>The publishing connection's <c>appendRollupWindow</c> for an append (zero: deliver each at once).</summary>
    public TimeSpan AppendRollupWindow { get; init; }

    public long FirstOffset => Entries[0].Offset;

    public long LastOffset => Entries[^1].Offset;
}
