using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;

namespace TokenWire.Redis;

/// <summary>
/// Connection state shared by every node, so a client can resume on any of them. Redis holds what another node needs
/// to continue a connection (id, key, app, key name, clientId) and which node owns it; this node also keeps the
/// <see cref="RealtimeConnection"/> objects it serves, so a resume here takes over the old transport as before.
/// <list type="bullet">
/// <item>Bound here (new or resumed): the state is live and without expiry; a previous owner is told to let go.</item>
/// <item>Transport ended here: the state expires after <c>connectionStateTtl</c>, then a tombstone says "expired"
/// for as long again. Redis expiry does the reaping, so no node has to be alive for it.</item>
/// <item>A disconnect that could not be recorded (Redis down) is retried when Redis is back.</item>
/// </list>
/// </summary>
public sealed partial class RedisConnectionStore : IConnectionStore, IDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly AppRegistry _apps;
    private readonly TimeProvider _time;
    private readonly TimeSpan _stateTtl;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RealtimeConnection> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (RealtimeConnection Connection, DateTimeOffset At)> _pendingDisconnects = new(StringComparer.Ordinal);
    private readonly ITimer _reaper;
    private readonly SemaphoreSlim _subscribeGate = new(1, 1);
    private volatile bool _subscribed;

    public RedisConnectionStore(IConnectionMultiplexer redis, RedisKeys keys, AppRegistry apps, IOptions<TokenWireOptions> options, TimeProvider time, ILogger<RedisConnectionStore>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _apps = apps;
        _time = time;
        _stateTtl = options.Value.Connection.StateTtl;
        _logger = logger ?? NullLogger<RedisConnectionStore>.Instance;

        // Several nodes may share a machine name (and so a ServerId): the owner id adds a per-process nonce.
        Owner = $"{options.Value.ServerId}/{RandomNumberGenerator.GetHexString(12, lowercase: true)}";
        var period = TimeSpan.FromSeconds(Math.Clamp(_stateTtl.TotalSeconds / 4, 1, 15));
        _reaper = time.CreateTimer(_ => ReapLocal(), null, period, period);
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>This process's identity as the owner of the connections it serves.</summary>
    public string Owner { get; }

    /// <summary>Connections this node holds an object for (tests).</summary>
    internal int LocalCount => _local.Count;

    private IDatabase Database => _redis.GetDatabase();

    public async ValueTask<RealtimeConnection?> FindAsync(string key, CancellationToken cancellationToken = default)
    {
        // Live here: this node owns it, whatever Redis can say (or not, in an outage).
        if (_local.TryGetValue(key, out var local) && local.Transport is not null)
        {
            return local;
        }

        HashEntry[] state;
        try
        {
            state = await Database.HashGetAllAsync(_keys.Connection(key)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("connection state store", ex);
        }

        if (state.Length == 0)
        {
            _local.TryRemove(key, out _);
            return null;
        }

        if (_local.TryGetValue(key, out local))
        {
            return local;
        }

        var fields = state.ToDictionary(e => (string)e.Name!, e => (string)e.Value!, StringComparer.Ordinal);
        var app = _apps.FindApp(fields.GetValueOrDefault("app") ?? string.Empty);
        var apiKey = _apps.FindKey(fields.GetValueOrDefault("keyName") ?? string.Empty);
        if (app is null || apiKey is null || fields.GetValueOrDefault("id") is not { Length: > 0 } id)
        {
            return null; // The app or key is gone from this node's configuration: the connection cannot continue.
        }

        // The resuming request's credentials replace this AuthContext at once; it only carries app and clientId.
        var clientId = fields.GetValueOrDefault("clientId") is { Length: > 0 } c ? c : null;
        var owner = fields.GetValueOrDefault("owner");
        return new RealtimeConnection(id, key, new AuthContext(app, apiKey, apiKey.Capability, clientId))
        {
            Generation = int.TryParse(fields.GetValueOrDefault("gen"), System.Globalization.CultureInfo.InvariantCulture, out var generation) ? generation : 0,

            // Owned by another node and not recorded as disconnected: a transport there carries it (or did, until
            // that node died; its current key still resumes, only superseded keys are refused meanwhile).
            HeldElsewhere = !string.IsNullOrEmpty(owner) && owner != Owner && !fields.ContainsKey("disconnectedAt"),
        };
    }

    /// <summary>The tombstone is written at disconnect and outlives the state by one TTL: expired = tombstone without state.</summary>
    public async ValueTask<bool> IsExpiredAsync(string key, CancellationToken cancellationToken = default)
    {
        try
        {
            var state = Database.KeyExistsAsync(_keys.Connection(key));
            var tombstone = Database.KeyExistsAsync(_keys.ExpiredConnection(key));
            return !await state.WaitAsync(cancellationToken).ConfigureAwait(false) && await tombstone.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("connection state store", ex);
        }
    }

    public async ValueTask AddAsync(RealtimeConnection connection, CancellationToken cancellationToken = default)
    {
        try
        {
            await EnsureSubscribedAsync(cancellationToken).ConfigureAwait(false);
            _local[connection.Key] = connection;
            _pendingDisconnects.TryRemove(connection.Key, out _);
            await Database.ScriptEvaluateAsync(
                RedisScripts.ConnectionBind,
                [_keys.Connection(connection.Key), _keys.ExpiredConnection(connection.Key)],
                [connection.Id, connection.Auth.App.Id, connection.Auth.Key.Name, connection.Auth.ClientId ?? string.Empty, Owner, _keys.ConnectionTakeover.ToString(), connection.Key, connection.Generation])
                .WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisFailures.IsUnavailable(ex))
        {
            throw RedisFailures.Unavailable("connection state store", ex);
        }
    }

    public async ValueTask MarkDisconnectedAsync(RealtimeConnection connection, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        try
        {
            await RecordDisconnectAsync(connection, at).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisConnectionException or TimeoutException)
        {
            // Without it the state would never expire: record it once Redis is back.
            _pendingDisconnects[connection.Key] = (connection, at);
            throw;
        }
    }

    public async ValueTask RemoveAsync(RealtimeConnection connection, CancellationToken cancellationToken = default)
    {
        _local.TryRemove(new KeyValuePair<string, RealtimeConnection>(connection.Key, connection));
        _pendingDisconnects.TryRemove(connection.Key, out _);
        await Database.KeyDeleteAsync([_keys.Connection(connection.Key), _keys.ExpiredConnection(connection.Key)]).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _reaper.Dispose();
    }

    private async Task RecordDisconnectAsync(RealtimeConnection connection, DateTimeOffset at)
    {
        var remaining = _stateTtl - (_time.GetUtcNow() - at);
        await Database.ScriptEvaluateAsync(
            RedisScripts.ConnectionDisconnect,
            [_keys.Connection(connection.Key), _keys.ExpiredConnection(connection.Key)],
            [Owner, Math.Max(1, (long)remaining.TotalMilliseconds), at.ToUnixTimeMilliseconds()]).ConfigureAwait(false);
    }

    private async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (_subscribed)
        {
            return;
        }

        await _subscribeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_subscribed)
            {
                var queue = await _redis.GetSubscriber().SubscribeAsync(_keys.ConnectionTakeover).ConfigureAwait(false);
                queue.OnMessage(message => OnTakeover(message.Message));
                _subscribed = true;
            }
        }
        finally
        {
            _subscribeGate.Release();
        }
    }

    /// <summary>Another node now serves the connection: end our transport for it (the client has left it) and forget it.</summary>
    private void OnTakeover(RedisValue notice)
    {
        var text = (string)notice!;
        var space = text.IndexOf(' ');
        if (space <= 0 || text.AsSpan(0, space).SequenceEqual(Owner))
        {
            return;
        }

        if (_local.TryRemove(text[(space + 1)..], out var connection))
        {
            TakenOver(_logger, connection.Id);
            connection.Transport?.Abort();
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var (key, pending) in _pendingDisconnects)
        {
            _ = RetryDisconnectAsync(key, pending.Connection, pending.At);
        }
    }

    private async Task RetryDisconnectAsync(string key, RealtimeConnection connection, DateTimeOffset at)
    {
        try
        {
            await RecordDisconnectAsync(connection, at).ConfigureAwait(false);
            _pendingDisconnects.TryRemove(key, out _);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            DisconnectRetryFailed(_logger, ex, connection.Id);
        }
    }

    /// <summary>Drops objects for connections disconnected longer than the TTL: their state has expired in Redis too.</summary>
    private void ReapLocal()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, connection) in _local)
        {
            if (connection.DisconnectedAt is { } at && now - at > _stateTtl)
            {
                _local.TryRemove(new KeyValuePair<string, RealtimeConnection>(key, connection));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connection {ConnectionId} resumed on another node; ending its transport here")]
    private static partial void TakenOver(ILogger logger, string connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId}: recording its disconnect in Redis failed again; retrying at the next reconnection")]
    private static partial void DisconnectRetryFailed(ILogger logger, Exception exception, string connectionId);
}
