using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using TokenWire.Server.Auth;

namespace TokenWire.Redis;

/// <summary>
/// Token revocations shared by every node. Redis holds the list durably (a hash, see <see cref="RedisKeys"/>); each
/// node answers token checks from a local replica, so a check never waits for Redis. The replica is loaded at start,
/// kept current by a pub/sub notice that <c>revoke.lua</c> publishes atomically with each change, and reloaded
/// periodically and after every reconnection, because pub/sub loses what is sent while a node's link is down.
/// Every change reaching the replica, however it came, raises <see cref="Revoked"/> once, so each node's
/// <see cref="Server.Connections.RevocationEnforcer"/> closes its own connections. Entries are never removed (as in
/// the embedded store: a JWT may outlive any age we would pick).
/// </summary>
public sealed partial class RedisTokenRevocationStore : ITokenRevocationStore, IHostedService, IDisposable
{
    public static readonly TimeSpan DefaultReloadInterval = TimeSpan.FromSeconds(30);

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisKeys _keys;
    private readonly TimeProvider _time;
    private readonly TimeSpan _reloadInterval;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<RevocationTarget, TokenRevocation> _replica = new();
    private readonly Lock _applyGate = new();
    private ITimer? _reloadTimer;
    private ChannelMessageQueue? _notices;

    public RedisTokenRevocationStore(IConnectionMultiplexer redis, RedisKeys keys, TimeProvider time, TimeSpan? reloadInterval = null, ILogger<RedisTokenRevocationStore>? logger = null)
    {
        _redis = redis;
        _keys = keys;
        _time = time;
        _reloadInterval = reloadInterval ?? DefaultReloadInterval;
        _logger = logger ?? NullLogger<RedisTokenRevocationStore>.Instance;
    }

    public event Action<TokenRevocation>? Revoked;

    public bool IsEmpty => _replica.IsEmpty;

    public bool TryGet(RevocationTarget target, [NotNullWhen(true)] out TokenRevocation? revocation) => _replica.TryGetValue(target, out revocation);

    public async ValueTask<TokenRevocation> RevokeAsync(TokenRevocation revocation, CancellationToken cancellationToken = default)
    {
        var entry = await _redis.GetDatabase().ScriptEvaluateAsync(
            RedisScripts.Revoke,
            [_keys.Revocations],
            [Field(revocation.Target), revocation.IssuedBefore, revocation.AppliesAt, _keys.RevocationsChanged.ToString()])
            .WaitAsync(cancellationToken).ConfigureAwait(false);

        // Applied here at once (not only when our own notice comes back), so this node refuses the token before the
        // REST call that revoked it has answered.
        var merged = Parse(revocation.Target, (string)entry!) ?? revocation;
        Apply(merged);
        return merged;
    }

    /// <summary>Subscribes first, then loads: a revocation made in between arrives by notice, not lost between the two.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _redis.ConnectionRestored += OnConnectionRestored;
        _reloadTimer = _time.CreateTimer(_ => _ = ReloadQuietlyAsync(), null, _reloadInterval, _reloadInterval);
        try
        {
            _notices = await _redis.GetSubscriber().SubscribeAsync(_keys.RevocationsChanged).WaitAsync(cancellationToken).ConfigureAwait(false);
            _notices.OnMessage(message => OnNotice(message.Message));
            await ReloadAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis is down at start: the node still starts; the subscription and the list come with the reconnection.
            LoadFailed(_logger, ex);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        if (_notices is { } notices)
        {
            try
            {
                await notices.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }
        }
    }

    public void Dispose()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        _reloadTimer?.Dispose();
    }

    /// <summary>Reads the whole list into the replica (the safety net for lost notices).</summary>
    internal async Task ReloadAsync()
    {
        if (_notices is null)
        {
            // Started while Redis was down: subscribe now that it answers.
            _notices = await _redis.GetSubscriber().SubscribeAsync(_keys.RevocationsChanged).ConfigureAwait(false);
            _notices.OnMessage(message => OnNotice(message.Message));
        }

        foreach (var entry in await _redis.GetDatabase().HashGetAllAsync(_keys.Revocations).ConfigureAwait(false))
        {
            if (ParseField((string)entry.Name!) is { } target && Parse(target, (string)entry.Value!) is { } revocation)
            {
                Apply(revocation);
            }
        }
    }

    internal static string Field(RevocationTarget target) => string.Concat(target.KeyName, "\n", target.Type, "\n", target.Value);

    private void OnNotice(RedisValue notice)
    {
        // "issuedBefore appliesAt field"
        var text = (string)notice!;
        var first = text.IndexOf(' ');
        var second = first < 0 ? -1 : text.IndexOf(' ', first + 1);
        if (second < 0 || ParseField(text[(second + 1)..]) is not { } target || Parse(target, text[..second]) is not { } revocation)
        {
            return;
        }

        Apply(revocation);
    }

    /// <summary>Merges into the replica; raises <see cref="Revoked"/> when that changed what is in force.</summary>
    private void Apply(TokenRevocation revocation)
    {
        TokenRevocation merged;
        lock (_applyGate)
        {
            var existing = _replica.GetValueOrDefault(revocation.Target);
            merged = existing?.Merge(revocation) ?? revocation;
            if (merged == existing)
            {
                return;
            }

            _replica[revocation.Target] = merged;
        }

        try
        {
            Revoked?.Invoke(merged);
        }
        catch (Exception ex)
        {
            HandlerFailed(_logger, ex);
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e) => _ = ReloadQuietlyAsync();

    private async Task ReloadQuietlyAsync()
    {
        try
        {
            await ReloadAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LoadFailed(_logger, ex);
        }
    }

    private static RevocationTarget? ParseField(string field)
    {
        var parts = field.Split('\n', 3);
        return parts.Length == 3 ? new RevocationTarget(parts[0], parts[1], parts[2]) : null;
    }

    private static TokenRevocation? Parse(RevocationTarget target, string entry)
    {
        var space = entry.IndexOf(' ');
        return space > 0
            && long.TryParse(entry.AsSpan(0, space), NumberStyles.Integer, CultureInfo.InvariantCulture, out var issuedBefore)
            && long.TryParse(entry.AsSpan(space + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var appliesAt)
                ? new TokenRevocation(target, issuedBefore, appliesAt)
                : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token revocations: reading the shared list from Redis failed; revocations recorded elsewhere meanwhile apply here once it is back")]
    private static partial void LoadFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Token revocations: a Revoked handler threw")]
    private static partial void HandlerFailed(ILogger logger, Exception exception);
}
