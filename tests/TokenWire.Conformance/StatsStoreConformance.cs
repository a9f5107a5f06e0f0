using TokenWire.Server.Stats;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IStatsStore"/> contract, run against every engine: each engine's test class starts nodes sharing one
/// store (the embedded engine has one node, so every "node" is the same store). Each node writes its own counts; reads
/// see their sum, rolled up to every unit, with peaks as the maximum written.
/// </summary>
public abstract class StatsStoreConformance : IAsyncLifetime
{
    /// <summary>2025-02-03 15:04 UTC.</summary>
    protected static readonly long Minute = new DateTimeOffset(2025, 2, 3, 15, 4, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    private const string Count = "messages.inbound.realtime.messages.count";
    private const string Peak = "connections.all.peak";

    /// <summary>Starts a node of the engine under test, sharing stats with every node this test started.</summary>
    protected abstract Task<IStatsStore> StartNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Two_nodes_counts_sum_and_their_peaks_merge_by_maximum_in_every_unit()
    {
        var app = AppId();
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();

        await a.AddAsync(app, Minute, new Dictionary<string, long> { [Count] = 3, [Peak] = 7 }).AsTask().Within();
        await b.AddAsync(app, Minute, new Dictionary<string, long> { [Count] = 4, [Peak] = 5 }).AsTask().Within();
        await a.AddAsync(app, Minute, new Dictionary<string, long> { [Count] = 1, [Peak] = 2 }).AsTask().Within();

        foreach (var unit in StatsIntervals.All)
        {
            var start = StatsIntervals.Floor(Minute, unit);
            var read = await b.ReadAsync(app, unit, 0, long.MaxValue / 2, forwards: true, limit: 10).AsTask().Within();
            var bucket = Assert.Single(read);
            Assert.Equal(start, bucket.Start);
            Assert.Equal(8, bucket.Leaves[Count]);
            Assert.Equal(7, bucket.Leaves[Peak]);
        }
    }

    [Fact]
    public async Task Minutes_roll_up_into_their_hour_day_and_month()
    {
        var app = AppId();
        var store = await StartNodeAsync();
        var nextHour = StatsIntervals.Next(StatsIntervals.Floor(Minute, StatsUnit.Hour), StatsUnit.Hour);
        await store.AddAsync(app, Minute, new Dictionary<string, long> { [Count] = 1 }).AsTask().Within();
        await store.AddAsync(app, Minute + 60_000, new Dictionary<string, long> { [Count] = 2 }).AsTask().Within();
        await store.AddAsync(app, nextHour, new Dictionary<string, long> { [Count] = 4 }).AsTask().Within();

        Assert.Equal([1L, 2, 4], (await store.ReadAsync(app, StatsUnit.Minute, 0, long.MaxValue / 2, true, 10).AsTask().Within()).Select(b => b.Leaves[Count]));
        Assert.Equal([3L, 4], (await store.ReadAsync(app, StatsUnit.Hour, 0, long.MaxValue / 2, true, 10).AsTask().Within()).Select(b => b.Leaves[Count]));
        Assert.Equal([7L], (await store.ReadAsync(app, StatsUnit.Day, 0, long.MaxValue / 2, true, 10).AsTask().Within()).Select(b => b.Leaves[Count]));
        Assert.Equal([7L], (await store.ReadAsync(app, StatsUnit.Month, 0, long.MaxValue / 2, true, 10).AsTask().Within()).Select(b => b.Leaves[Count]));
    }

    [Fact]
    public async Task A_read_keeps_to_its_range_direction_and_limit_and_to_its_app()
    {
        var app = AppId();
        var store = await StartNodeAsync();
        for (var i = 0; i < 5; i++)
        {
            await store.AddAsync(app, Minute + (i * 60_000), new Dictionary<string, long> { [Count] = i + 1 }).AsTask().Within();
        }

        await store.AddAsync(AppId(), Minute, new Dictionary<string, long> { [Count] = 100 }).AsTask().Within();

        var backwards = await store.ReadAsync(app, StatsUnit.Minute, Minute + 60_000, Minute + (3 * 60_000), forwards: false, limit: 2).AsTask().Within();
        Assert.Equal([Minute + (3 * 60_000), Minute + (2 * 60_000)], backwards.Select(b => b.Start));
        var forwards = await store.ReadAsync(app, StatsUnit.Minute, Minute + 60_000, Minute + (3 * 60_000), forwards: true, limit: 10).AsTask().Within();
        Assert.Equal([2L, 3, 4], forwards.Select(b => b.Leaves[Count]));
        Assert.Empty(await store.ReadAsync(AppId(), StatsUnit.Minute, 0, long.MaxValue / 2, true, 10).AsTask().Within());
    }

    private static string AppId() => "app" + Guid.NewGuid().ToString("N")[..10];
}
