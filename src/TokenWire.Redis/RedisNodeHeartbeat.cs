using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Server.Presence;

namespace TokenWire.Redis;

/// <summary>
/// This node's liveness in Redis: the key <c>node:{instance}</c>, renewed every third of <see cref="RedisEngineOptions.NodeTtl"/>
/// with that TTL, so it disappears within one TTL of the node dying (Redis's clock, not the nodes'). The presence
/// sweep reads other nodes' keys, and only sweeps once this node's own link has been up for a whole TTL: after a
/// Redis outage or restart every live node has renewed its key by then, so none is taken for dead.
/// </summary>
public sealed partial class RedisNodeHeartbeat : IHostedService, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly NodeInstance _node;
    private readonly string _serverId;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _beating = new(1, 1);
    private ITimer? _timer;
    private long _upSinceTicks; // 0: the link is not known to be up
    private DateTimeOffset? _lastBeat;

    public RedisNodeHeartbeat(IConnectionMultiplexer redis, RedisKeys keys, NodeInstance node, RedisEngineOptions engine, string serverId, TimeProvider time, ILogger<RedisNodeHeartbeat>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _node = node;
        _serverId = serverId;
        _time = time;
        Ttl = engine.NodeTtl > TimeSpan.FromMilliseconds(300) ? engine.NodeTtl : TimeSpan.FromMilliseconds(300);
        _logger = logger ?? NullLogger<RedisNodeHeartbeat>.Instance;
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    public TimeSpan Ttl { get; }

    public string NodeId => _node.Id;

    /// <summary>This node has renewed its key without a break for at least one TTL: its view of who is dead can be trusted.</summary>
    public bool MaySweep
    {
        get
        {
            var since = Interlocked.Read(ref _upSinceTicks);
            return since != 0 && _time.GetUtcNow().UtcTicks - since >= Ttl.Ticks;
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before this node's first member can be entered, so no sweep ever sees a member of a node without a key.
        await BeatAsync().ConfigureAwait(false);
        var period = Ttl / 3;
        _timer = _time.CreateTimer(_ => _ = BeatAsync(), null, period, period);
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        // The key is left to expire: the clients of a stopping node resume elsewhere and re-enter before it does.
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Whether <paramref name="nodeId"/>'s heartbeat is present (this node always is).</summary>
    public async Task<bool> IsAliveAsync(string nodeId) =>
        nodeId == _node.Id || await _redis.GetDatabase().KeyExistsAsync(_keys.NodeHeartbeat(nodeId)).ConfigureAwait(false);

    /// <summary>Renews the key now; also called when the link to Redis is back.</summary>
    public async Task BeatAsync()
    {
        if (!await _beating.WaitAsync(0).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var previous = await _redis.GetDatabase().StringSetAndGetAsync(_keys.NodeHeartbeat(_node.Id), _serverId, Ttl).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            if (previous.IsNull && _lastBeat is not null)
            {
                // Other nodes may have swept this node's presence members meanwhile; its clients re-enter them at their next reconnection.
                Lapsed(_logger, _node.Id, now - _lastBeat.Value);
            }

            _lastBeat = now;
            Interlocked.CompareExchange(ref _upSinceTicks, now.UtcTicks, 0);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            // Expected while Redis is away (RedisConnection logs the outage once): no warning per tick.
            Interlocked.Exchange(ref _upSinceTicks, 0);
            BeatDeferred(_logger, RedisFailures.Describe(ex));
        }
        catch (Exception ex) when (ex is RedisException)
        {
            Interlocked.Exchange(ref _upSinceTicks, 0);
            BeatFailed(_logger, ex);
        }
        finally
        {
            _beating.Release();
        }
    }

    public void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        _redis.ConnectionRestored -= OnConnectionRestored;
        _timer?.Dispose();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e) => Interlocked.Exchange(ref _upSinceTicks, 0);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _ = BeatAsync();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node}: its heartbeat in Redis had lapsed ({Silence} since the last renewal); other nodes may have removed its presence members")]
    private static partial void Lapsed(ILogger logger, string node, TimeSpan silence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing this node's heartbeat in Redis failed; retrying")]
    private static partial void BeatFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Renewing this node's heartbeat waits for Redis ({Reason})")]
    private static partial void BeatDeferred(ILogger logger, string reason);
}
