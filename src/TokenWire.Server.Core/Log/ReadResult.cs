namespace TokenWire.Server.Log;

/// <summary>
/// Entries after a position, for resume and gap filling. <see cref="Continuous"/> is false when the position is
/// from another epoch or older than what is retained: the reader cannot be told it missed nothing.
/// </summary>
public sealed record ReadResult(IReadOnlyList<LogEntry> Entries, bool Continuous, string Epoch, long HeadOffset);
