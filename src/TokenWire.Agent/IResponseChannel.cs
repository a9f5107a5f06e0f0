using System.Text.Json.Nodes;

namespace TokenWire.Agent;

/// <summary>
/// The channel an agent streams onto. Implemented over <c>TokenWire.Client</c> (a realtime channel), so an agent
/// in the server process and one in another process publish the same way, over the wire.
/// </summary>
public interface IResponseChannel
{
    /// <summary>Queues a message with JSON <paramref name="data"/> and <c>extras.headers</c>; completes on ACK.
    /// Calls keep their order on the wire, so callers need not await one before the next.</summary>
    Task PublishAsync(string name, JsonObject data, JsonObject headers, CancellationToken cancellationToken = default);

    /// <summary>Calls <paramref name="handler"/> with <c>extras.headers.responseId</c> of each message named
    /// <paramref name="name"/> on the channel, until disposed.</summary>
    ValueTask<IAsyncDisposable> SubscribeAsync(string name, Action<string?> handler, CancellationToken cancellationToken = default);
}
