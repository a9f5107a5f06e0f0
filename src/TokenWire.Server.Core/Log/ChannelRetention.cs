namespace TokenWire.Server.Log;

/// <summary>How long and how much of a channel's history is kept, resolved from the app's channel rules.</summary>
public readonly record struct ChannelRetention(TimeSpan MaxAge, int MaxMessages, TimeSpan IdempotencyWindow);
