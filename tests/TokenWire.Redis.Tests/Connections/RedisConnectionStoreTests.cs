using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Connections;

namespace TokenWire.Redis.Tests.Connections;

/// <summary>
/// Connection state shared by nodes against the shared contract, plus what only a shared store has: one owner at a
/// time. Redis expires keys in real time: the state TTL is the default (two minutes), so no check made "before it
/// passes" can be overtaken by it on a loaded box, and <see cref="LetStateExpireAsync"/> brings the expiry forward.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisConnectionStoreTests(RedisServerFixture redis) : ConnectionStoreConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<IConnectionStore> StartNodeAsync() => await StartNode();

    /// <summary>Redis's clock, moved on: the state's remaining TTL (set at the disconnect) cut to a millisecond.</summary>
    protected override async Task LetStateExpireAsync(IConnectionStore store, RealtimeConnection connection)
    {
        var state = _nodes.Keys.Connection(connection.Key);
        Assert.True(await redis.Redis.GetDatabase().KeyTimeToLiveAsync(state).Within() is not null, "the disconnect started the state's TTL");
        await redis.Redis.GetDatabase().KeyExpireAsync(state, TimeSpan.FromMilliseconds(1)).Within();
        await Wait.Eventually("the state expires", async () => await store.IsExpiredAsync(connection.Key));
    }

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();

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
        Assert.Null(await redis.Redis.GetDatabase().KeyTimeToLiveAsync(_nodes.Keys.Connection(connection.Key)).Within());
        Assert.Same(resumed, await nodeB.FindAsync(connection.Key).Within());
    }

    private async Task<RedisConnectionStore> StartNode()
    {
        var store = new RedisConnectionStore(await _nodes.ConnectAsync(), _nodes.Keys, Apps, Options, TimeProvider.System);
        _nodes.Own(new Disposer(store));
        return store;
    }

    /// <summary>Disposes the store (its timers) before its link closes.</summary>
    private sealed class Disposer(IDisposable store) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            store.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
