using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client;

/// <summary>
/// The realtime client (Ably Realtime): one <see cref="Connection"/>, its <see cref="Channels"/>, and the REST API
/// over the same credentials and one <see cref="HttpClient"/>. Thread-safe. Dispose to close the connection.
/// <code>
/// await using var client = new RealtimeClient(RealtimeClientOptions.Default with { Key = key, Endpoint = "127.0.0.1", Port = 8080, Tls = false });
/// var channel = client.Channels.Get("chat");
/// await channel.AttachAsync();
/// await foreach (var message in channel.SubscribeAsync()) { ... }
/// </code>
/// </summary>
public sealed class RealtimeClient : IAsyncDisposable
{
    private readonly EventDispatcher _events;
    private int _disposed;

    public RealtimeClient(RealtimeClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        var logger = options.LoggerFactory.CreateLogger("TokenWire.Client.Events");
        _events = new EventDispatcher(logger);
        var auth = new AuthProvider(options);
        Rest = new RestClient(options, auth, RestClient.CreateHttpClient(options));
        Connection = new Connection(options, auth, _events);
        Channels = new RealtimeChannels(Connection, Rest, _events, options);
        Connection.Channels = Channels;
    }

    /// <summary>A client with a key and the default options.</summary>
    public RealtimeClient(string key)
        : this(RealtimeClientOptions.Default with { Key = key })
    {
    }

    public RealtimeClientOptions Options { get; }

    public Connection Connection { get; }

    public RealtimeChannels Channels { get; }

    /// <summary>REST operations (publish, history, time, status) with this client's credentials and HttpClient.</summary>
    public RestClient Rest { get; }

    /// <inheritdoc cref="Client.Connection.ConnectAsync"/>
    public Task ConnectAsync(CancellationToken cancellationToken = default) => Connection.ConnectAsync(cancellationToken);

    /// <inheritdoc cref="Client.Connection.CloseAsync"/>
    public Task CloseAsync(CancellationToken cancellationToken = default) => Connection.CloseAsync(cancellationToken);

    /// <inheritdoc cref="Client.Connection.PingAsync"/>
    public Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default) => Connection.PingAsync(cancellationToken);

    /// <summary>Closes the connection (waiting at most RealtimeRequestTimeout), ends every subscription and releases the HttpClient.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            using var deadline = new CancellationTokenSource(Options.RealtimeRequestTimeout);
            await Connection.CloseAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or AblyException)
        {
            // Best effort: the server drops the connection's state after connectionStateTtl anyway.
        }

        Channels.CompleteAllSubscriptions();
        _events.Complete();
        Rest.Dispose();
    }
}
