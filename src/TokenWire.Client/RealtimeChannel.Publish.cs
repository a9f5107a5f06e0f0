using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// Publishing (reference §4.4). Each call is one MESSAGE frame with its own msgSerial; calls are pipelined — start
/// many, await them later — and the server applies and acknowledges them in call order. The channel need not be
/// attached, but a FAILED or SUSPENDED one refuses publishes. Publishes made while the connection is connecting or
/// disconnected are queued and sent once connected.
/// </summary>
public sealed partial class RealtimeChannel
{
    /// <summary>
    /// Publishes one message. <paramref name="data"/> is a string, binary (<c>byte[]</c>, <c>ReadOnlyMemory&lt;byte&gt;</c>)
    /// or JSON (<c>JsonNode</c>, <c>JsonElement</c>, or any object, serialized with the client's
    /// <see cref="RealtimeClientOptions.JsonSerializerOptions"/>); <paramref name="extras"/> is a JSON object.
    /// Completes with the assigned serial on ACK; faults with <see cref="AblyException"/> on NACK.
    /// Cancelling stops waiting for the ACK; a message already handed to the connection may still be published.
    /// </summary>
    public Task<PublishResult> PublishAsync(string? name, object? data, object? extras = null, CancellationToken cancellationToken = default) =>
        PublishAsync([Messages.Create(name, data, extras, _clientOptions.JsonSerializerOptions)], cancellationToken);

    /// <summary>Publishes one message built with <see cref="Messages.Create"/> (or by hand).</summary>
    public Task<PublishResult> PublishAsync(Message message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return PublishAsync([message], cancellationToken);
    }

    /// <summary>Publishes a batch atomically in one frame; the result has one serial per message, in order.</summary>
    public Task<PublishResult> PublishAsync(IReadOnlyList<Message> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            throw new ArgumentException("Publish at least one message.", nameof(messages));
        }

        cancellationToken.ThrowIfCancellationRequested();

        // Copies: the frame is encoded later on the writer loop, and possibly again after a reconnect.
        var batch = new Message[messages.Count];
        var size = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            batch[i] = (messages[i] ?? throw new ArgumentException("Messages must not be null.", nameof(messages))).Clone();
            size += batch[i].Size;
        }

        return SendAcknowledgedAsync(new ProtocolMessage(ProtocolAction.Message) { Channel = Name, Messages = batch }, size, cancellationToken);
    }

    /// <summary>
    /// Sends a frame that the server acknowledges by msgSerial (MESSAGE, ANNOTATION) after the checks every publish
    /// shares: the channel's state (RTL6c4) and the connection's maximum message size.
    /// </summary>
    internal Task<PublishResult> SendAcknowledgedAsync(ProtocolMessage frame, int size, CancellationToken cancellationToken)
    {
        lock (Gate)
        {
            // RTL6c4: a failed or suspended channel refuses publishes at once.
            if (_state is ChannelState.Failed or ChannelState.Suspended)
            {
                return Task.FromException<PublishResult>(new AblyException(
                    _errorReason ?? ErrorCodes.Create(90001, $"Channel '{Name}' is {_state.ToString().ToLowerInvariant()}")));
            }
        }

        var max = _connection.MaxMessageSize;
        if (size > max)
        {
            return Task.FromException<PublishResult>(new AblyException(ErrorCodes.MessageTooLarge, $"Message size {size} exceeds the maximum of {max} bytes"));
        }

        return _connection.PublishAsync(frame, cancellationToken);
    }
}
