using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Auth;

namespace TokenWire.Redis.Tests.Auth;

/// <summary>
/// Revocations shared by nodes against the shared contract (each node its own multiplexer and local replica), plus
/// the periodic reload that recovers a revocation whose notice was lost.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisTokenRevocationStoreTests(RedisServerFixture redis) : TokenRevocationStoreConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<ITokenRevocationStore> StartNodeAsync() => await StartNode();

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task The_reload_recovers_a_revocation_whose_notice_was_lost()
    {
        var node = await StartNode();
        var announced = new List<TokenRevocation>();
        node.Revoked += announced.Add;
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "missed");

        // Written as revoke.lua would, but with no notice: what a node misses while its link to Redis is down.
        await redis.Redis.GetDatabase().HashSetAsync(_nodes.Keys.Revocations, RedisTokenRevocationStore.Field(target), "3000 3000");
        Assert.False(node.TryGet(target, out _));

        await node.ReloadAsync().Within();

        Assert.True(node.TryGet(target, out var reloaded));
        Assert.Equal(new TokenRevocation(target, 3000, 3000), reloaded);
        Assert.Equal([reloaded], announced);
    }

    private async Task<RedisTokenRevocationStore> StartNode()
    {
        var store = new RedisTokenRevocationStore(await _nodes.ConnectAsync(), _nodes.Keys, TimeProvider.System, reloadInterval: TimeSpan.FromHours(1));
        await store.StartAsync(CancellationToken.None).Within();
        _nodes.Own(new Stopper(store));
        return store;
    }

    /// <summary>Stops the store's reload loop before its link closes.</summary>
    private sealed class Stopper(RedisTokenRevocationStore store) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await store.StopAsync(CancellationToken.None);
    }
}
