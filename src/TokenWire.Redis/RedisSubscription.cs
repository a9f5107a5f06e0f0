using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace TokenWire.Redis;

/// <summary>
/// One Redis pub/sub subscription, consumed in order: its <see cref="ChannelMessageQueue"/> hands over one message at a
/// time in arrival order (plain handler callbacks would run concurrently, in no order). Everything handed to the
/// receiver goes through <see cref="Run"/>, under one lock shared with <see cref="DisposeAsync"/>, so nothing reaches
/// the receiver after disposal returns and a receiver that throws is logged, never propagated to Redis's thread.
/// </summary>
internal sealed partial class RedisSubscription : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly ChannelMessageQueue _queue;
    private readonly string _name;
    private readonly ILogger _logger;
    private bool _disposed;

    private RedisSubscription(ChannelMessageQueue queue, string name, ILogger logger)
    {
        _queue = queue;
        _name = name;
        _logger = logger;
    }

    public bool Disposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    /// <param name="name">The TokenWire channel, for log messages.</param>
    /// <param name="receive">Called for each message, in order, through <see cref="Run"/>.</param>
    public static async Task<RedisSubscription> StartAsync(IConnectionMultiplexer redis, RedisChannel channel, string name, Action<RedisValue> receive, ILogger logger, CancellationToken cancellationToken)
    {
        var queue = await redis.GetSubscriber().SubscribeAsync(channel).WaitAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new RedisSubscription(queue, name, logger);
        queue.OnMessage(message => subscription.Run(() => receive(message.Message)));
        return subscription;
    }

    /// <summary>Runs <paramref name="action"/> unless disposed, one at a time with every other.</summary>
    public void Run(Action action)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            try
            {
                action();
            }
            catch (Exception ex)
            {
                ReceiverFailed(_logger, ex, _name);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        try
        {
            await _queue.UnsubscribeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis is unreachable: the queue is already detached locally, and the server side ends with the link.
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Redis subscription for {Channel}: the receiver threw")]
    private static partial void ReceiverFailed(ILogger logger, Exception exception, string channel);
}
