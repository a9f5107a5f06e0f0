namespace TokenWire.LoadTest;

/// <summary>
/// The servers one scenario runs against: one embedded-engine node, or one or more nodes sharing a fresh
/// <see cref="RedisProcess"/>. Subscribers are spread over <see cref="Nodes"/>; the publisher uses node 0. CPU and
/// memory are summed over every process, Redis included, so that Redis is not counted as "other" machine load.
/// </summary>
public sealed class ServerCluster : IAsyncDisposable
{
    private readonly List<ServerProcess> _servers;
    private readonly RedisProcess? _redis;

    private ServerCluster(List<ServerProcess> servers, RedisProcess? redis)
    {
        _servers = servers;
        _redis = redis;
    }

    public IReadOnlyList<Uri> Nodes => _servers.Select(s => s.BaseUri).ToList();

    /// <summary>CPU time of all nodes (total and kernel mode) and, separately, of Redis.</summary>
    public ClusterCpuTime CpuTime
    {
        get
        {
            var total = TimeSpan.Zero;
            var kernel = TimeSpan.Zero;
            foreach (var server in _servers)
            {
                var (t, k) = server.CpuTime;
                total += t;
                kernel += k;
            }

            return new ClusterCpuTime(total, kernel, _redis?.CpuTime);
        }
    }

    public long WorkingSetBytes => _servers.Sum(s => s.WorkingSetBytes);

    public static async Task<ServerCluster> StartAsync(string serverDll, int nodes, bool useRedis, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        RedisProcess? redis = null;
        var servers = new List<ServerProcess>();
        try
        {
            redis = useRedis ? await RedisProcess.StartAsync(cancellationToken) : null;
            for (var i = 0; i < nodes; i++)
            {
                // Started one after another: each node's startup takes a core for a moment, and there are only two.
                servers.Add(await ServerProcess.StartAsync(serverDll, $"node-{i}", redis?.Endpoint, environment, cancellationToken));
            }

            return new ServerCluster(servers, redis);
        }
        catch
        {
            await new ServerCluster(servers, redis).DisposeAsync();
            throw;
        }
    }

    /// <summary>Warning and error log lines of every node since the last call, each tagged with its node.</summary>
    public IReadOnlyList<string> DrainProblems() =>
        _servers.SelectMany((server, i) => server.DrainProblems().Select(line => _servers.Count > 1 ? $"node-{i} {line}" : line)).ToList();

    /// <summary>Nodes first, so none of them logs a lost Redis link while it is being stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_servers.Select(s => s.DisposeAsync().AsTask()));
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>CPU time used so far by a cluster's nodes, and by its Redis when it has one.</summary>
public readonly record struct ClusterCpuTime(TimeSpan Total, TimeSpan Kernel, TimeSpan? Redis);
