using TokenWire.Protocol;

namespace TokenWire.AITransport.Wire;

/// <summary>
/// What a run needs from the session channel. Calls are queued on the wire in call order, so a caller may start many
/// before awaiting them (the SDK pipelines its appends the same way).
/// </summary>
public interface IAITransportChannel
{
    /// <summary>Publishes a new message; completes with its serial on ACK.</summary>
    Task<string?> PublishAsync(Message message, CancellationToken cancellationToken = default);

    /// <summary>Appends <c>message.Data</c> to the message with <c>message.Serial</c>; its extras replace the message's.</summary>
    Task AppendAsync(Message message, CancellationToken cancellationToken = default);

    /// <summary>Replaces the data and extras of the message with <c>message.Serial</c> (recovery after a failed append).</summary>
    Task UpdateAsync(Message message, CancellationToken cancellationToken = default);
}
