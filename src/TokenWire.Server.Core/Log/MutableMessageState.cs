using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>
/// The in-memory engine's per-message record of a mutated message: the original, its versions' offsets (the versions
/// themselves stay in the log, stored like any entry), the current name, extras and data kind for checking and
/// merging the next version, and the latest fold with the offset of the last version in it, extended by the versions
/// after it on the next read.
/// </summary>
internal sealed class MutableMessageState(LogEntry original)
{
    public LogEntry Original { get; } = original;

    public List<long> VersionOffsets { get; } = [];

    public string Kind { get; set; } = MutationRules.DataKind(original.Message);

    public string? Name { get; set; } = original.Message.Name;

    public JsonPayload? Extras { get; set; } = original.Message.Extras;

    /// <summary>The message's data size now (UTF-8 bytes of text), checked against maxMessageSize on each append.</summary>
    public long DataSize { get; set; } = original.Message.Data.Size;

    /// <summary>The message folded with its versions up to <see cref="FoldedThrough"/>; null before the first read.</summary>
    public Message? Folded { get; set; }

    public long FoldedThrough { get; set; }
}
