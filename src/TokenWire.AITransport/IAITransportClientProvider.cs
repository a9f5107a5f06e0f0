using TokenWire.Client;

namespace TokenWire.AITransport;

/// <summary>The realtime connection an agent publishes with (its clientId is the agent's on the channel).</summary>
public interface IAITransportClientProvider
{
    ValueTask<RealtimeClient> GetClientAsync(CancellationToken cancellationToken);
}

/// <summary>One <see cref="RealtimeClient"/> made from options on first use and connected; disposed with the provider.</summary>
public sealed class RealtimeClientProvider(RealtimeClientOptions options) : IAITransportClientProvider, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RealtimeClient? _client;

    public async ValueTask<RealtimeClient> GetClientAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { } client)
        {
            return client;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client is null)
            {
                var created = new RealtimeClient(options);
                await created.ConnectAsync(cancellationToken).ConfigureAwait(false);
                Volatile.Write(ref _client, created);
            }

            return _client!;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is { } client)
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }
}
