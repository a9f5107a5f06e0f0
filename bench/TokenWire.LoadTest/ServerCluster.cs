using TokenWire.Testing;

namespace TokenWire.LoadTest;

/// <summary>
/// The servers one run uses: one TokenWire node on the embedded engine, several nodes sharing a fresh
/// <see cref="RedisServer"/>, or the raw fan-out baseline. Subscribers are spread over <see cref="Nodes"/>; the
/// publishers use node 0. CPU and memory are summed over every node; Redis CPU is kept apart, so that Redis is
/// counted neither as server nor as "other" machine load.
/// </summary>
public sealed class ServerCluster : IAsyncDisposable
{
    private readonly List<ServerNode> _servers;
    private readonly RedisServer? _redis;

    private ServerCluster(List<ServerNode> servers, RedisServer? redis)
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

    /// <summary>Each node's peak resident set since it started (Linux: VmHWM), summed.</summary>
    public long PeakWorkingSetBytes => _servers.Sum(s => s.PeakWorkingSetBytes);

    /// <summary>TokenWire nodes (Development keys, the inbound rate limit lifted), on a fresh Redis when asked for.</summary>
    public static async Task<ServerCluster> StartTokenWireAsync(string serverDll, int nodes, bool useRedis, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        RedisServer? redis = null;
        var servers = new List<ServerNode>();
        try
        {
            redis = useRedis ? await RedisServer.StartAsync(cancellationToken) : null;
            for (var i = 0; i < nodes; i++)
            {
                var nodeEnvironment = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    // Distinguishes the nodes of a cluster in CONNECTED's connectionDetails and in Redis.
                    ["TokenWire__ServerId"] = $"node-{i}",

                    // The benchmark measures the transport: lift the per-connection inbound rate limit its publisher would exceed.
                    ["TokenWire__Limits__MaxInboundRate"] = "0",

                    // Metrics export off, as in production by default (Development turns Prometheus on): results stay
                    // comparable with earlier runs. --server-env TokenWire__Metrics__Prometheus=true measures it on.
                    ["TokenWire__Metrics__Prometheus"] = "false",
                };
                foreach (var (name, value) in environment)
                {
                    nodeEnvironment[name] = value;
                }

                // Started one after another: each node's startup takes a core for a moment, and there are only two.
                servers.Add(await ServerNode.StartAsync(serverDll, redis is null ? [] : ["--redis", redis.Endpoint], nodeEnvironment, cancellationToken));
            }

            return new ServerCluster(servers, redis);
        }
        catch
        {
            await new ServerCluster(servers, redis).DisposeAsync();
            throw;
        }
    }

    /// <summary>The raw fan-out baseline, as built (no extra environment: it is the fixed yardstick).</summary>
    public static async Task<ServerCluster> StartRawAsync(string rawDll, CancellationToken cancellationToken) =>
        new([await ServerNode.StartAsync(rawDll, [], new Dictionary<string, string>(), cancellationToken)], null);

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
