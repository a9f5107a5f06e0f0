using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>A message was not buffered for a <see cref="MessageSubscription"/> because its buffer was full.</summary>
/// <param name="Message">The dropped message.</param>
/// <param name="Subscription">The subscription that was too far behind.</param>
public sealed record MessageDroppedEventArgs(Message Message, MessageSubscription Subscription);
