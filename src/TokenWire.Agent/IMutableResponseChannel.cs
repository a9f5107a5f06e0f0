using System.Text.Json.Nodes;

namespace TokenWire.Agent;

/// <summary>A response channel that can also append to a message it published (message-per-response streaming).</summary>
public interface IMutableResponseChannel : IResponseChannel
{
    /// <summary>Publishes a plain-text message with <c>extras.headers</c>; completes with its serial on ACK.</summary>
    Task<string?> PublishTextAsync(string name, string text, JsonObject headers, CancellationToken cancellationToken = default);

    /// <summary>Appends <paramref name="fragment"/> to the message with <paramref name="serial"/>; <paramref name="headers"/>
    /// replace its <c>extras.headers</c>. Calls keep their order on the wire, so callers need not await one before the next.</summary>
    Task AppendAsync(string serial, string fragment, JsonObject headers, CancellationToken cancellationToken = default);
}
