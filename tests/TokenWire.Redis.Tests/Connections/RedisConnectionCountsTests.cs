using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;
using TokenWire.Server.Hosting;

namespace TokenWire.Redis.Tests.Connections;

/// <summary>
/// MaxConnectionsPerApp across nodes against the shared contract, plus the cluster itself: each node sees the
/// others' counts; a node that stops refreshing stops counting.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConnectionCountsTests(RedisServerFixture redis) : ClusterConnectionCountsConformance
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly RedisNodes _links = new(redis);
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly IOptions<TokenWireOptions> _options = Options.Create(new TokenWireOptions
    {
        Apps = [DevelopmentApp.Create()],
        Limits = new LimitOptions { MaxConnectionsPerApp = 10 },
    });

    private readonly List<RedisConnectionCounts> _nodes = [];

    protected override async Task<IClusterConnectionCounts> StartNodeAsync(Func<string, int> liveConnections) =>
        await Node(liveConnections);

    /// <summary>Each node publishes, then each reads what all published.</summary>
    protected override async Task RefreshAsync()
    {
        foreach (var node in _nodes)
        {
            await node.RefreshAsync();
        }

        foreach (var node in _nodes)
        {
            await node.RefreshAsync();
        }
    }

    public override async Task DisposeAsync() => await _links.DisposeAsync();

    [Fact]
    public async Task Each_node_counts_the_others_connections_and_a_silent_node_drops_out_after_three_periods()
    {
        var counts = new Dictionary<string, int> { ["a"] = 3, ["b"] = 4, ["c"] = 5 };
        var a = await Node(() => counts["a"]);
        var b = await Node(() => counts["b"]);
        var c = await Node(() => counts["c"]);

        await a.RefreshAsync().Within();
        await b.RefreshAsync().Within();
        await c.RefreshAsync().Within();
        await a.RefreshAsync().Within();

        Assert.Equal(9, a.OnOtherNodes("dev"));
        Assert.Equal(7, c.OnOtherNodes("dev"));
        Assert.Equal(0, a.OnOtherNodes("no-such-app"));

        // c goes quiet (killed): a and b keep refreshing; after three periods c's count no longer counts.
        counts["a"] = 1;
        _time.Advance(Period * 2);
        await b.RefreshAsync().Within();
        await a.RefreshAsync().Within();
        Assert.Equal(9, a.OnOtherNodes("dev"));

        _time.Advance(Period * 2);
        await b.RefreshAsync().Within();
        await a.RefreshAsync().Within();
        Assert.Equal(4, a.OnOtherNodes("dev"));
        await b.RefreshAsync().Within();
        Assert.Equal(1, b.OnOtherNodes("dev"));
    }

    [Fact]
    public async Task A_node_that_stops_cleanly_takes_its_count_out_at_once()
    {
        var a = await Node(() => 2);
        var b = await Node(() => 6);
        await b.RefreshAsync().Within();
        await a.RefreshAsync().Within();
        Assert.Equal(6, a.OnOtherNodes("dev"));

        await b.StopAsync(CancellationToken.None).Within();
        await a.RefreshAsync().Within();

        Assert.Equal(0, a.OnOtherNodes("dev"));
    }

    private Task<RedisConnectionCounts> Node(Func<int> live) => Node(_ => live());

    private async Task<RedisConnectionCounts> Node(Func<string, int> live)
    {
        var node = new RedisConnectionCounts(await _links.ConnectAsync(), _links.Keys, new AppRegistry(_options), _options, live, _time, Period);
        _nodes.Add(node);
        return node;
    }
}
