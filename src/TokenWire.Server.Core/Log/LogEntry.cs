using TokenWire.Protocol;

namespace TokenWire.Server.Log;

/// <summary>A stored message and its offset in the channel log. The message is complete and never mutated after append.</summary>
public sealed record LogEntry(long Offset, Message Message);
