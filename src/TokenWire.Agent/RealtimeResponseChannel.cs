using System.Text.Json.Nodes;
using TokenWire.Client;

namespace TokenWire.Agent;

/// <summary><see cref="IMutableResponseChannel"/> over a TokenWire.Client realtime channel.</summary>
public sealed class RealtimeResponseChannel(RealtimeChannel channel) : IMutableResponseChannel
{
    public async Task<string?> PublishTextAsync(string name, string text, JsonObject headers, CancellationToken cancellationToken = default) =>
        (await channel.PublishAsync(name, text, new JsonObject { ["headers"] = headers }, cancellationToken).ConfigureAwait(false)).Serials[0];

    public Task AppendAsync(string serial, string fragment, JsonObject headers, CancellationToken cancellationToken = default)
    {
        var message = Messages.Create(null, fragment, new JsonObject { ["headers"] = headers });
        message.Serial = serial;
        return channel.AppendMessageAsync(message, cancellationToken: cancellationToken);
    }

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
