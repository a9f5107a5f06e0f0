using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Stats;

namespace TokenWire.Redis.Tests.Stats;

/// <summary>
/// Stats shared by nodes against the shared contract (each node its own multiplexer, as separate processes would
/// be: their HINCRBYs sum), plus expiry: an interval whose hash has expired is dropped from reads and its index.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisStatsStoreTests(RedisServerFixture redis) : StatsStoreConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<IStatsStore> StartNodeAsync() => new RedisStatsStore(await _nodes.ConnectAsync(), _nodes.Keys);

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task Intervals_carry_a_TTL_and_an_expired_one_leaves_reads_and_the_index()
    {
        var store = await StartNodeAsync();
        await store.AddAsync("ttl", Minute, new Dictionary<string, long> { ["channels.opened"] = 1 }).AsTask().Within();
        await store.AddAsync("ttl", Minute + 60_000, new Dictionary<string, long> { ["channels.opened"] = 2 }).AsTask().Within();
        var db = redis.Redis.GetDatabase();
        var minuteKey = _nodes.Keys.StatsInterval("ttl", "minute", Minute);
        var ttl = await db.KeyTimeToLiveAsync(minuteKey);
        Assert.InRange(ttl!.Value, RedisStatsStore.Retention(StatsUnit.Minute) - TimeSpan.FromMinutes(1), RedisStatsStore.Retention(StatsUnit.Minute));

        await db.KeyDeleteAsync(minuteKey); // as its expiry would

        var read = await store.ReadAsync("ttl", StatsUnit.Minute, 0, long.MaxValue / 2, true, 10).AsTask().Within();
        Assert.Equal([Minute + 60_000], read.Select(b => b.Start));
        await Wait.Eventually("the index forgets it", async () => await db.SortedSetLengthAsync(_nodes.Keys.StatsIndex("ttl", "minute")) == 1);
    }
}
