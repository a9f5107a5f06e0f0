using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Server.Engine;
using TokenWire.Server.Presence;

namespace TokenWire.Redis;

/// <summary>
/// Removes the presence members of dead nodes (killed, or cut off from Redis for longer than the node TTL): nobody
/// else would, as their connections' delayed leaves died with them. Every node sweeps, every half
/// <see cref="RedisEngineOptions.NodeTtl"/>: it walks the index of channels with members a batch at a time (a cursor
/// kept across ticks), and for each channel leaves the members whose owner's node has no heartbeat. The leaves go
/// through <see cref="PresenceService"/> (the apply script, so they are broadcast and recorded like any other) and
/// are conditioned on that owner, so a member re-entered meanwhile through a live node stays, and nodes sweeping the
/// same channel at once remove each member once.
/// </summary>
public sealed partial class RedisPresenceSweeper : IHostedService, IDisposable
{
    /// <summary>Members per leave apply: bounds the script's arguments and its time holding Redis.</summary>
    private const int LeavesPerApply = 500;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly RedisNodeHeartbeat _heartbeat;
    private readonly PresenceService _presence;
    private readonly TimeProvider _time;
    private readonly int _batch;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _sweeping = new(1, 1);
    private long _cursor;
    private ITimer? _timer;

    public RedisPresenceSweeper(IConnectionMultiplexer redis, RedisKeys keys, RedisNodeHeartbeat heartbeat, PresenceService presence, RedisEngineOptions engine, TimeProvider time, ILogger<RedisPresenceSweeper>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _heartbeat = heartbeat;
        _presence = presence;
        _time = time;
        _batch = Math.Max(engine.PresenceSweepBatch, 1);
        _logger = logger ?? NullLogger<RedisPresenceSweeper>.Instance;
    }

    private IDatabase Database => _redis.GetDatabase();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var period = _heartbeat.Ttl / 2;
        _timer = _time.CreateTimer(_ => _ = TickAsync(), null, period, period);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>One tick: the next batch of indexed channels. Returns the members removed (none while this node may not sweep).</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken = default)
    {
        if (!_heartbeat.MaySweep || !await _sweeping.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return 0;
        }

        try
        {
            var scan = (RedisResult[])(await Database.ExecuteAsync("SSCAN", _keys.PresenceChannels, _cursor, "COUNT", _batch).WaitAsync(cancellationToken).ConfigureAwait(false))!;
            _cursor = long.Parse((string)scan[0]!, CultureInfo.InvariantCulture);
            var alive = new Dictionary<string, bool>(StringComparer.Ordinal);
            var removed = 0;
            foreach (var channel in (RedisResult[])scan[1]!)
            {
                removed += await SweepChannelAsync((string)channel!, alive, cancellationToken).ConfigureAwait(false);
            }

            return removed;
        }
        finally
        {
            _sweeping.Release();
        }
    }

    private async Task TickAsync()
    {
        try
        {
            var removed = await SweepAsync().ConfigureAwait(false);
            if (removed > 0)
            {
                Swept(_logger, removed);
            }
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            // Expected while Redis is away (RedisConnection logs the outage once): no warning per tick.
            SweepDeferred(_logger, RedisFailures.Describe(ex));
        }
        catch (Exception ex)
        {
            SweepFailed(_logger, ex);
        }
    }

    /// <param name="stored">The channel as indexed: <see cref="ChannelKey.ToString"/>'s form.</param>
    private async Task<int> SweepChannelAsync(string stored, Dictionary<string, bool> alive, CancellationToken cancellationToken)
    {
        var channel = ChannelKey.Parse(stored);
        var keys = _keys.Presence(channel);
        var dead = new List<(string ClientId, string ConnectionId, string Owner)>();
        await foreach (var entry in Database.HashScanAsync(keys[1], pageSize: 1000).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var owner = (string)entry.Value!;
            if (NodeInstance.OfOwner(owner) is not { } node)
            {
                continue;
            }

            if (!alive.TryGetValue(node, out var isAlive))
            {
                alive[node] = isAlive = await _heartbeat.IsAliveAsync(node).ConfigureAwait(false);
            }

            if (!isAlive && await MemberAsync(keys[0], (string)entry.Name!, owner).ConfigureAwait(false) is { } member)
            {
                dead.Add((member.ClientId, member.ConnectionId, owner));
            }
        }

        var removed = 0;
        foreach (var chunk in dead.Chunk(LeavesPerApply))
        {
            removed += await _presence.LeaveOwnedAsync(channel, chunk, cancellationToken).ConfigureAwait(false);
        }

        // Unindex an empty channel, then look again: an enter in between indexes it after its script, so it is never lost.
        if (!await Database.KeyExistsAsync(keys[1]).ConfigureAwait(false)
            && await Database.SetRemoveAsync(_keys.PresenceChannels, stored).ConfigureAwait(false)
            && await Database.KeyExistsAsync(keys[1]).ConfigureAwait(false))
        {
            await Database.SetAddAsync(_keys.PresenceChannels, stored).ConfigureAwait(false);
        }

        return removed;
    }

    /// <summary>clientId and connectionId of a member: from its key when the owner names the connection (always, for owners PresenceService makes), else from the stored message.</summary>
    private async Task<(string ClientId, string ConnectionId)?> MemberAsync(RedisKey members, string memberKey, string owner)
    {
        var connectionId = owner[(owner.IndexOf('/') + 1)..];
        if (memberKey.Length > connectionId.Length && memberKey.EndsWith(":" + connectionId, StringComparison.Ordinal))
        {
            return (memberKey[..^(connectionId.Length + 1)], connectionId);
        }

        var stored = await Database.HashGetAsync(members, memberKey).ConfigureAwait(false);
        if (stored.IsNull)
        {
            return null;
        }

        var message = RedisPresenceCodec.DecodeMember((byte[])stored!);
        return message is { ClientId: { } clientId, ConnectionId: { } id } ? (clientId, id) : null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Presence sweep: removed {Count} members of nodes without a heartbeat")]
    private static partial void Swept(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Presence sweep waits for Redis ({Reason})")]
    private static partial void SweepDeferred(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Presence sweep failed; retrying at the next tick")]
    private static partial void SweepFailed(ILogger logger, Exception exception);
}
