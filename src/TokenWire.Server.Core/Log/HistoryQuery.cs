using TokenWire.Protocol.Serials;

namespace TokenWire.Server.Log;

/// <summary>
/// A validated history request (reference §5.4). <see cref="Until"/> is the <c>untilAttach</c> bound from
/// <c>from_serial</c>: only messages at or before it. <see cref="Cursor"/> continues a previous page.
/// </summary>
public sealed record HistoryQuery(
    long? StartMs,
    long? EndMs,
    bool Forwards,
    int Limit,
    LogPosition? Until,
    LogPosition? Cursor);
