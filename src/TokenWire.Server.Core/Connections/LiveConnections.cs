using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using TokenWire.Server.Configuration;

namespace TokenWire.Server.Connections;

/// <summary>
/// The connections that have a transport on this node, by app: what <see cref="LimitOptions.MaxConnectionsPerApp"/>
/// counts, and where token revocation and app deletion find the sockets to close. A connection counts from the
/// moment a transport binds it until its last transport ends; a resume (a new transport for a counted connection)
/// takes no second slot. Disconnected connections waiting to be resumed do not count, as in Ably. With several nodes
/// the limit also counts the other nodes' connections (<see cref="IClusterConnectionCounts"/>, refreshed in the
/// background, so it may be overshot briefly by connections arriving on several nodes at once).
/// </summary>
public sealed class LiveConnections(IOptions<TokenWireOptions> options, IClusterConnectionCounts cluster)
{
    private readonly int _maxPerApp = options.Value.Limits.MaxConnectionsPerApp;
    private readonly ConcurrentDictionary<string, Dictionary<string, RealtimeConnection>> _byApp = new(StringComparer.Ordinal);

    /// <summary>Counts <paramref name="connection"/> for its app; false when the app is at its limit.</summary>
    public bool TryAdd(RealtimeConnection connection)
    {
        var connections = _byApp.GetOrAdd(connection.Auth.App.Id, _ => new Dictionary<string, RealtimeConnection>(StringComparer.Ordinal));
        lock (connections)
        {
            if (connections.ContainsKey(connection.Id))
            {
                return true;
            }

            if (_maxPerApp > 0 && connections.Count + cluster.OnOtherNodes(connection.Auth.App.Id) >= _maxPerApp)
            {
                return false;
            }

            connections[connection.Id] = connection;
            return true;
        }
    }

    public void Remove(RealtimeConnection connection)
    {
        if (_byApp.TryGetValue(connection.Auth.App.Id, out var connections))
        {
            lock (connections)
            {
                connections.Remove(connection.Id);
            }
        }
    }

    /// <summary>A snapshot of the app's live connections.</summary>
    public IReadOnlyList<RealtimeConnection> ForApp(string appId)
    {
        if (!_byApp.TryGetValue(appId, out var connections))
        {
            return [];
        }

        lock (connections)
        {
            return [.. connections.Values];
        }
    }

    /// <summary>Live connections over all apps (metrics; takes each app's lock in turn).</summary>
    public int Count
    {
        get
        {
            var count = 0;
            foreach (var (_, connections) in _byApp)
            {
                lock (connections)
                {
                    count += connections.Count;
                }
            }

            return count;
        }
    }

    /// <summary>Bytes queued on the live connections' transports (metrics, read when collected).</summary>
    public long QueuedBytes()
    {
        long bytes = 0;
        foreach (var (_, connections) in _byApp)
        {
            lock (connections)
            {
                foreach (var (_, connection) in connections)
                {
                    bytes += connection.Transport?.QueuedBytes ?? 0;
                }
            }
        }

        return bytes;
    }

    public int CountFor(string appId)
    {
        if (!_byApp.TryGetValue(appId, out var connections))
        {
            return 0;
        }

        lock (connections)
        {
            return connections.Count;
        }
    }
}
