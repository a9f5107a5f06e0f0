using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Server.Engine;

namespace TokenWire.Redis;

/// <summary>
/// The receiving half of the Redis engine's delivery: one Redis pub/sub channel per TokenWire channel, on which
/// <c>append.lua</c> and <c>mutate.lua</c> publish each append atomically with it, and
/// <see cref="RedisMessageLog.PublishEphemeralAsync"/> ephemeral messages (see <see cref="RedisMessageCodec.DecodeEnvelope"/>).
/// Each subscription is consumed in order (<see cref="RedisSubscription"/>).
/// <para>
/// Pub/sub is at-most-once: while this node's link to Redis is down, envelopes are lost. After every reconnection
/// each subscriber is told so (<c>onMissed</c>), a few times, since resubscribing can finish after the restored event;
/// the subscriber asks the log what came after what it has.
/// </para>
/// </summary>
public sealed partial class RedisMessageBus : IMessageBus, IDisposable
{
    /// <summary>When to report possible losses after a reconnection: resubscribing can finish after the restored event.</summary>
    private static readonly TimeSpan[] MissedReports = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)];

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<RedisSubscription, Action> _subscriptions = new();

    public RedisMessageBus(IConnectionMultiplexer redis, RedisKeys keys, ILogger<RedisMessageBus>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _logger = logger ?? NullLogger<RedisMessageBus>.Instance;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<BusEnvelope> onEnvelope, Action onMissed, CancellationToken cancellationToken = default)
    {
        var subscription = await RedisSubscription.StartAsync(
            _redis,
            _keys.BusChannel(channel),
            channel.ToString(),
            payload =>
            {
                BusEnvelope envelope;
                try
                {
                    envelope = RedisMessageCodec.DecodeEnvelope(channel, (ReadOnlyMemory<byte>)payload);
                }
                catch (Exception ex)
                {
                    EnvelopeDropped(_logger, ex, channel);
                    return;
                }

                onEnvelope(envelope);
            },
            _logger,
            cancellationToken).ConfigureAwait(false);
        _subscriptions.TryAdd(subscription, onMissed);
        return new Subscription(this, subscription);
    }

    public void Dispose() => _redis.ConnectionRestored -= OnConnectionRestored;

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var (subscription, onMissed) in _subscriptions)
        {
            _ = ReportMissedAsync(subscription, onMissed);
        }
    }

    private static async Task ReportMissedAsync(RedisSubscription subscription, Action onMissed)
    {
        foreach (var delay in MissedReports)
        {
            await Task.Delay(delay).ConfigureAwait(false);
            if (subscription.Disposed)
            {
                return;
            }

            subscription.Run(onMissed);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bus: undecodable envelope on {Channel} dropped (receivers fill the gap from the log)")]
    private static partial void EnvelopeDropped(ILogger logger, Exception exception, ChannelKey channel);

    private sealed class Subscription(RedisMessageBus bus, RedisSubscription subscription) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            bus._subscriptions.TryRemove(subscription, out _);
            return subscription.DisposeAsync();
        }
    }
}
