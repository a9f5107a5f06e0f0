using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>Arguments of <see cref="Connection.StateChanged"/> (spec TA1-TA5).</summary>
/// <param name="Previous">The state left.</param>
/// <param name="Current">The state entered.</param>
/// <param name="Reason">Why, when the change was caused by an error (e.g. 80003 disconnected, 40101 bad key).</param>
/// <param name="RetryIn">When DISCONNECTED or SUSPENDED: the delay before the next connection attempt.</param>
public sealed record ConnectionStateChange(ConnectionState Previous, ConnectionState Current, ErrorInfo? Reason, TimeSpan? RetryIn);
