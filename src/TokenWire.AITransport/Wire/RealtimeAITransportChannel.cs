using TokenWire.Client;
using TokenWire.Protocol;

namespace TokenWire.AITransport.Wire;

/// <summary><see cref="IAITransportChannel"/> over a TokenWire.Client realtime channel.</summary>
public sealed class RealtimeAITransportChannel(RealtimeChannel channel) : IAITransportChannel
{
    public async Task<string?> PublishAsync(Message message, CancellationToken cancellationToken = default) =>
        (await channel.PublishAsync(message, cancellationToken).ConfigureAwait(false)).Serials[0];

    public Task AppendAsync(Message message, CancellationToken cancellationToken = default) =>
        channel.AppendMessageAsync(message, cancellationToken: cancellationToken);

    public Task UpdateAsync(Message message, CancellationToken cancellationToken = default) =>
        channel.UpdateMessageAsync(message, cancellationToken: cancellationToken);
}
