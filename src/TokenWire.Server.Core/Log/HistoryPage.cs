using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>One page of history in the requested direction, with where the next page starts, if any.</summary>
public sealed record HistoryPage(IReadOnlyList<LogEntry> Entries, LogPosition? Next);
