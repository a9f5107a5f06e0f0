using StackExchange.Redis;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Connections;
using TokenWire.Server.Engine;

namespace TokenWire.Redis.Tests.Connections;

/// <summary>
/// Connection state shared by nodes against the shared contract, plus what only a shared store has: one owner at a
/// time. Redis expires keys in real time, so the state TTL is short.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConnectionStoreTests(RedisServerFixture redis) : ConnectionStoreConformance
{
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<IDisposable> _disposables = [];

    /// <summary>Long enough to check the state before it goes.</summary>
    protected override TimeSpan StateTtl => TimeSpan.FromMilliseconds(1500);

    protected override async Task<IConnectionStore> StartNodeAsync() => await StartNode();

    protected override async Task LetStateExpireAsync(IConnectionStore store, RealtimeConnection connection)
    {
        var deadline = DateTime.UtcNow + Wait.Timeout;
        while (!await store.IsExpiredAsync(connection.Key))
        {
            Assert.True(DateTime.UtcNow < deadline, "Timed out waiting for the state to expire");
            await Task.Delay(50);
        }
    }

    public override Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task Taking_a_connection_over_on_another_node_keeps_it_live_there_and_the_old_node_lets_go()
    {
        var nodeA = await StartNode();
        var nodeB = await StartNode();
        var connection = NewConnection(null);
        await nodeA.AddAsync(connection).Within();
        var resumed = (await nodeB.FindAsync(connection.Key).Within())!;

        await nodeB.AddAsync(resumed).Within();
        await Wait.Eventually("node A forgets its object", () => nodeA.LocalCount == 0);

        // Node A notices its (dead) transport late: that must not start the TTL of a connection live on node B.
        await nodeA.MarkDisconnectedAsync(connection, DateTimeOffset.UtcNow).Within();
        Assert.Null(await redis.Redis.GetDatabase().KeyTimeToLiveAsync(_keys.Connection(connection.Key)).Within());
        Assert.Same(resumed, await nodeB.FindAsync(connection.Key).Within());
    }

    private async Task<RedisConnectionStore> StartNode()
    {
        ConnectionMultiplexer link = await redis.ConnectAsync();
        var store = new RedisConnectionStore(link, _keys, Apps, Options, TimeProvider.System);
        _disposables.Add(store);
        _disposables.Add(link);
        return store;
    }
}
