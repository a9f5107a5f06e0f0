using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// The in-memory engine's per-message record of a mutated message: its versions (entries already in the log, so
/// nothing is copied per append), the current name, extras and data kind for checking and merging the next version,
/// and the folded message, built lazily on the first read after a change.
/// </summary>
internal sealed class MutableMessageState(LogEntry original)
{
    public LogEntry Original { get; } = original;

    public List<LogEntry> Versions { get; } = [];

    public string Kind { get; set; } = MutationRules.DataKind(original.Message);

    public string? Name { get; set; } = original.Message.Name;

    public JsonPayload? Extras { get; set; } = original.Message.Extras;

    /// <summary>The message's data size now (UTF-8 bytes of text), checked against maxMessageSize on each append.</summary>
    public long DataSize { get; set; } = original.Message.Data.Size;

    private Message? _folded;

    public void Add(LogEntry version)
    {
        Versions.Add(version);
        _folded = null;
    }

    /// <summary>The message as of <paramref name="upToOffset"/>; the latest fold is cached until the next version.</summary>
    public Message Fold(long upToOffset) =>
        Versions.Count == 0 ? Original.Message
        : upToOffset >= Versions[^1].Offset ? _folded ??= MessageAggregation.Fold(Original, Versions, long.MaxValue)
        : MessageAggregation.Fold(Original, Versions, upToOffset);
}
