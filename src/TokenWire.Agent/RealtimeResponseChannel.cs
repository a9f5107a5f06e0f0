using System.Text.Json.Nodes;
using TokenWire.Client;

namespace TokenWire.Agent;

/// <summary><see cref="IResponseChannel"/> over a TokenWire.Client realtime channel.</summary>
public sealed class RealtimeResponseChannel(RealtimeChannel channel) : IResponseChannel
{
    public Task PublishAsync(string name, JsonObject data, JsonObject headers, CancellationToken cancellationToken = default) =>
        channel.PublishAsync(name, data, new JsonObject { ["headers"] = headers }, cancellationToken);

    public async ValueTask<IAsyncDisposable> SubscribeAsync(string name, Action<string?> handler, CancellationToken cancellationToken = default)
    {
        var subscription = channel.Subscribe(name, message => handler(message.GetHeader("responseId")));
        try
        {
            // Attached before the first token goes out, so a cancel sent while streaming is seen.
            await channel.AttachAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            subscription.Dispose();
            throw;
        }

        return new Unsubscriber(subscription);
    }

    private sealed class Unsubscriber(IDisposable subscription) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            subscription.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
