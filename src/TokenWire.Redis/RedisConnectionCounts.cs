using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;

namespace TokenWire.Redis;

/// <summary>
/// Live connections per app across nodes, for <see cref="LimitOptions.MaxConnectionsPerApp"/>. Every period each node
/// writes its own count per app into a hash (field = node, value = "count writtenAtMs") and reads the others'; a field
/// not rewritten for three periods is a dead node's and is ignored and deleted, so a killed node stops counting within
/// seconds without anyone having to notice it. Connects read the last figures from memory. Only runs when a limit is set.
/// </summary>
public sealed partial class RedisConnectionCounts : IClusterConnectionCounts, IHostedService, IDisposable
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(1);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly AppRegistry _apps;
    private readonly Func<string, int> _localCount;
    private readonly TimeProvider _time;
    private readonly TimeSpan _period;
    private readonly bool _enabled;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, int> _others = new(StringComparer.Ordinal);
    private readonly string _node = RandomNumberGenerator.GetHexString(16, lowercase: true);
    private ITimer? _timer;
    private int _running;

    public RedisConnectionCounts(IConnectionMultiplexer redis, RedisKeys keys, AppRegistry apps, IOptions<TokenWireOptions> options, Func<string, int> localCount, TimeProvider time, TimeSpan? period = null, ILogger<RedisConnectionCounts>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _apps = apps;
        _localCount = localCount;
        _time = time;
        _period = period ?? DefaultPeriod;
        _enabled = options.Value.Limits.MaxConnectionsPerApp > 0;
        _logger = logger ?? NullLogger<RedisConnectionCounts>.Instance;
    }

    /// <summary>For DI: this node's counts come from <see cref="LiveConnections"/>, resolved late (it depends on us).</summary>
    public static RedisConnectionCounts Create(IServiceProvider services) => new(
        services.GetRequiredService<RedisConnection>().Multiplexer,
        services.GetRequiredService<RedisKeys>(),
        services.GetRequiredService<AppRegistry>(),
        services.GetRequiredService<IOptions<TokenWireOptions>>(),
        appId => services.GetRequiredService<LiveConnections>().CountFor(appId),
        services.GetRequiredService<TimeProvider>(),
        logger: services.GetRequiredService<ILogger<RedisConnectionCounts>>());

    public int OnOtherNodes(string appId) => _others.GetValueOrDefault(appId);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_enabled)
        {
            _timer = _time.CreateTimer(_ => _ = RefreshQuietlyAsync(), null, TimeSpan.Zero, _period);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();

        // Leaving cleanly: take our counts out at once rather than after three periods.
        return _enabled ? RemoveOwnAsync() : Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();

    /// <summary>Writes this node's counts and reads the others' (one round of the background loop).</summary>
    internal async Task RefreshAsync()
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var staleBefore = now - (long)(_period.TotalMilliseconds * 3);
        var database = _redis.GetDatabase();
        foreach (var app in _apps.Apps)
        {
            var key = _keys.AppConnections(app.Id);
            var own = _localCount(app.Id).ToString(CultureInfo.InvariantCulture) + " " + now.ToString(CultureInfo.InvariantCulture);
            await database.HashSetAsync(key, _node, own).ConfigureAwait(false);
            var others = 0;
            foreach (var entry in await database.HashGetAllAsync(key).ConfigureAwait(false))
            {
                var value = (string)entry.Value!;
                var space = value.IndexOf(' ');
                if ((string)entry.Name! == _node || space <= 0
                    || !int.TryParse(value.AsSpan(0, space), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count)
                    || !long.TryParse(value.AsSpan(space + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var writtenAt))
                {
                    continue;
                }

                if (writtenAt < staleBefore)
                {
                    await database.HashDeleteAsync(key, entry.Name).ConfigureAwait(false);
                    continue;
                }

                others += count;
            }

            _others[app.Id] = others;
        }
    }

    private async Task RefreshQuietlyAsync()
    {
        // One round at a time: a slow Redis must not pile rounds up.
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return;
        }

        try
        {
            await RefreshAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            // The last figures stay in use until Redis answers again; RedisConnection logs the outage once.
            RefreshDeferred(_logger, RedisFailures.Describe(ex));
        }
        catch (Exception ex) when (ex is RedisException)
        {
            RefreshFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task RemoveOwnAsync()
    {
        try
        {
            var database = _redis.GetDatabase();
            foreach (var app in _apps.Apps)
            {
                await database.HashDeleteAsync(_keys.AppConnections(app.Id), _node).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            RefreshFailed(_logger, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection counts: exchanging per-app counts through Redis failed; the last figures stay in use")]
    private static partial void RefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Connection counts: waiting for Redis ({Reason}); the last figures stay in use")]
    private static partial void RefreshDeferred(ILogger logger, string reason);
}
