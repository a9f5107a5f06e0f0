using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Connections;

/// <summary>
/// The embedded engine's <see cref="IConnectionStore"/>: connections by key, in this node's memory, for resume and
/// recover. A disconnected connection is kept for <c>connectionStateTtl</c>, then replaced by a tombstone for as long
/// again, so a late resume is told "expired" (80008) rather than "unknown" (80018).
/// <para>
/// The countdown runs from <see cref="RealtimeConnection.DisconnectedAt"/> when the connection had a transport here
/// (the object is the truth in its own process), else from the time it was marked disconnected; a connection with a
/// transport never expires, so a mark that arrives after a resume has no effect.
/// </para>
/// </summary>
public sealed class InMemoryConnectionStore : IConnectionStore, IDisposable
{
    private readonly ConcurrentDictionary<string, RealtimeConnection> _byKey = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _expiredKeys = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _markedDisconnected = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _stateTtl;
    private readonly ITimer _reaper;

    public InMemoryConnectionStore(TimeProvider time, IOptions<TokenWireOptions> options)
    {
        _time = time;
        _stateTtl = options.Value.Connection.StateTtl;
        var period = TimeSpan.FromSeconds(Math.Clamp(_stateTtl.TotalSeconds / 4, 1, 15));
        _reaper = time.CreateTimer(_ => Reap(), null, period, period);
    }

    public int Count => _byKey.Count;

    public void Add(RealtimeConnection connection)
    {
        _byKey[connection.Key] = connection;
        _markedDisconnected.TryRemove(connection.Key, out _);
    }

    public RealtimeConnection? Find(string key) => _byKey.GetValueOrDefault(key);

    public bool IsExpired(string key) => _expiredKeys.ContainsKey(key);

    /// <summary>Forgets a connection at once (client CLOSE).</summary>
    public void Remove(RealtimeConnection connection)
    {
        _byKey.TryRemove(new KeyValuePair<string, RealtimeConnection>(connection.Key, connection));
        _markedDisconnected.TryRemove(connection.Key, out _);
    }

    ValueTask<RealtimeConnection?> IConnectionStore.FindAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(Find(key));

    ValueTask<bool> IConnectionStore.IsExpiredAsync(string key, CancellationToken cancellationToken) => ValueTask.FromResult(IsExpired(key));

    ValueTask IConnectionStore.AddAsync(RealtimeConnection connection, CancellationToken cancellationToken)
    {
        Add(connection);
        return ValueTask.CompletedTask;
    }

    ValueTask IConnectionStore.MarkDisconnectedAsync(RealtimeConnection connection, DateTimeOffset at, CancellationToken cancellationToken)
    {
        _markedDisconnected[connection.Key] = at;
        return ValueTask.CompletedTask;
    }

    ValueTask IConnectionStore.RemoveAsync(RealtimeConnection connection, CancellationToken cancellationToken)
    {
        Remove(connection);
        return ValueTask.CompletedTask;
    }

    internal void Reap()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, connection) in _byKey)
        {
            var disconnectedAt = connection.DisconnectedAt ?? (_markedDisconnected.TryGetValue(key, out var marked) ? marked : null);
            if (connection.Transport is null && disconnectedAt is { } at && now - at > _stateTtl
                && _byKey.TryRemove(new KeyValuePair<string, RealtimeConnection>(key, connection)))
            {
                _markedDisconnected.TryRemove(key, out _);
                _expiredKeys[key] = now;
            }
        }

        foreach (var (key, at) in _expiredKeys)
        {
            if (now - at > _stateTtl)
            {
                _expiredKeys.TryRemove(key, out _);
            }
        }
    }

    public void Dispose() => _reaper.Dispose();
}
