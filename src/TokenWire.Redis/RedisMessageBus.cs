using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Server.Bus;

namespace TokenWire.Redis;

/// <summary>
/// Fan-out over Redis pub/sub, one Redis channel per TokenWire channel. The envelopes of stored messages are
/// published by <c>append.lua</c> itself, atomically with the append, so <see cref="PublishAsync"/> only publishes
/// ephemeral envelopes, which no script sees (a second publish of a stored one would only be a duplicate that
/// receivers drop). Each subscription is consumed through its
/// <see cref="ChannelMessageQueue"/>, which delivers one message at a time in arrival order; plain handler callbacks
/// would run concurrently, in no order.
/// <para>
/// Pub/sub is at-most-once: while this node's link to Redis is down, envelopes are lost. Receivers fill gaps from the
/// log when a later envelope shows one; so that a channel that then goes quiet does not leave its tail undelivered,
/// after every reconnection each subscription is handed the channel's newest entry, read from the log, which makes
/// the receiver fill whatever it missed.
/// </para>
/// </summary>
public sealed partial class RedisMessageBus : IMessageBus, IDisposable
{
    /// <summary>When to look at the log after a reconnection: resubscribing can finish after the restored event.</summary>
    private static readonly TimeSpan[] CatchUpDelays = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)];

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly RedisMessageLog _log;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Subscription, byte> _subscriptions = new();

    public RedisMessageBus(IConnectionMultiplexer redis, RedisKeys keys, RedisMessageLog log, ILogger<RedisMessageBus>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _log = log;
        _logger = logger ?? NullLogger<RedisMessageBus>.Instance;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    public async ValueTask PublishAsync(BusEnvelope envelope, CancellationToken cancellationToken = default)
    {
        if (envelope.Ephemeral && envelope.Entries.Count > 0)
        {
            await _redis.GetSubscriber().PublishAsync(_keys.BusChannel(envelope.ChannelKey), RedisMessageCodec.EncodeEphemeralEnvelope(envelope)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask<IAsyncDisposable> SubscribeAsync(string channelKey, Action<BusEnvelope> handler, CancellationToken cancellationToken = default)
    {
        var queue = await _redis.GetSubscriber().SubscribeAsync(_keys.BusChannel(channelKey)).WaitAsync(cancellationToken).ConfigureAwait(false);
        var subscription = new Subscription(this, channelKey, handler, queue);
        queue.OnMessage(message => subscription.Receive(message.Message));
        _subscriptions.TryAdd(subscription, 0);
        return subscription;
    }

    public void Dispose() => _redis.ConnectionRestored -= OnConnectionRestored;

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var subscription in _subscriptions.Keys)
        {
            _ = CatchUpAsync(subscription);
        }
    }

    private async Task CatchUpAsync(Subscription subscription)
    {
        foreach (var delay in CatchUpDelays)
        {
            await Task.Delay(delay).ConfigureAwait(false);
            if (subscription.Disposed)
            {
                return;
            }

            try
            {
                var head = await _log.GetHeadAsync(subscription.ChannelKey).ConfigureAwait(false);
                if (head.Offset == 0)
                {
                    continue;
                }

                var newest = await _log.ReadRecentAsync(subscription.ChannelKey, 1, null, head).ConfigureAwait(false);
                if (newest.Count > 0)
                {
                    subscription.Deliver(new BusEnvelope(subscription.ChannelKey, head.Epoch, newest, newest[0].Message.ConnectionId));
                }
            }
            catch (Exception ex)
            {
                CatchUpFailed(_logger, ex, subscription.ChannelKey);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bus: undecodable envelope on {Channel} dropped (receivers fill the gap from the log)")]
    private static partial void EnvelopeDropped(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Bus: catching {Channel} up from the log after a reconnection failed")]
    private static partial void CatchUpFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Error, Message = "Bus: a handler for {Channel} threw")]
    private static partial void HandlerFailed(ILogger logger, Exception exception, string channel);

    private sealed class Subscription(RedisMessageBus bus, string channelKey, Action<BusEnvelope> handler, ChannelMessageQueue queue) : IAsyncDisposable
    {
        private readonly Lock _gate = new();

        public string ChannelKey { get; } = channelKey;

        public bool Disposed { get; private set; }

        public void Receive(RedisValue payload)
        {
            BusEnvelope envelope;
            try
            {
                envelope = RedisMessageCodec.DecodeEnvelope(ChannelKey, (ReadOnlyMemory<byte>)payload);
            }
            catch (Exception ex)
            {
                EnvelopeDropped(bus._logger, ex, ChannelKey);
                return;
            }

            Deliver(envelope);
        }

        /// <summary>One envelope at a time per subscription, whether from the queue or a catch-up read.</summary>
        public void Deliver(BusEnvelope envelope)
        {
            lock (_gate)
            {
                if (Disposed)
                {
                    return;
                }

                try
                {
                    handler(envelope);
                }
                catch (Exception ex)
                {
                    HandlerFailed(bus._logger, ex, ChannelKey);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            lock (_gate)
            {
                Disposed = true;
            }

            bus._subscriptions.TryRemove(this, out _);
            try
            {
                await queue.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                // Redis is unreachable: the queue is already detached locally, and the server side ends with the link.
            }
        }
    }
}
