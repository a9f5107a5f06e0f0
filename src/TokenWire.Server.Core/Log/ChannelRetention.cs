namespace TokenWire.Server.Log;

/// <summary>
/// How long and how much of a channel's history is kept, resolved from the app's channel rules. <see cref="Mutable"/>
/// channels also keep, per message, what an update, delete or append needs to check and merge.
/// </summary>
public readonly record struct ChannelRetention(TimeSpan MaxAge, int MaxMessages, TimeSpan IdempotencyWindow, bool Mutable = false);
