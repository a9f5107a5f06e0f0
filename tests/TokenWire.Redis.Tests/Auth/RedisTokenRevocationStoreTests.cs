using System.Collections.Concurrent;
using StackExchange.Redis;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Auth;

namespace TokenWire.Redis.Tests.Auth;

/// <summary>
/// Revocations shared by nodes: recorded on one, in force and announced (Revoked) on every other from its local
/// replica, loaded by a node that starts later, recovered by the periodic reload when a notice is lost.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisTokenRevocationStoreTests(RedisServerFixture redis) : IAsyncLifetime
{
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<IAsyncDisposable> _disposables = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var disposable in _disposables)
        {
            await disposable.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_revocation_recorded_on_one_node_is_in_force_and_announced_on_another()
    {
        var (nodeA, _) = await StartNode();
        var (nodeB, announcedOnB) = await StartNode();
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "victim");

        var recorded = await nodeA.RevokeAsync(new TokenRevocation(target, 1000, 2000)).Within();

        Assert.Equal(new TokenRevocation(target, 1000, 2000), recorded);
        Assert.True(nodeA.TryGet(target, out var onA));
        Assert.Equal(recorded, onA);
        await Wait.Eventually("node B sees the revocation", () => nodeB.TryGet(target, out _));
        Assert.True(nodeB.TryGet(target, out var onB));
        Assert.Equal(recorded, onB);
        await Wait.Eventually("node B announces it", () => announcedOnB.Count == 1);
        Assert.Equal([recorded], announcedOnB);
        Assert.False(nodeB.TryGet(target with { Value = "bystander" }, out _));
    }

    [Fact]
    public async Task A_revocation_key_target_with_separators_in_its_value_round_trips_and_a_narrower_one_changes_nothing()
    {
        var (nodeA, announcedOnA) = await StartNode();
        var (nodeB, announcedOnB) = await StartNode();
        var target = new RevocationTarget("dev.root", RevocationTarget.RevocationKey, "group 1:a\nb");
        var wide = await nodeA.RevokeAsync(new TokenRevocation(target, 5000, 5000)).Within();
        await Wait.Eventually("node B has the wide revocation", () => announcedOnB.Count == 1);

        var narrower = await nodeB.RevokeAsync(new TokenRevocation(target, 4000, 4000)).Within();

        Assert.Equal(wide, narrower);
        Assert.True(nodeB.TryGet(target, out var onB));
        Assert.Equal(wide, onB);
        await Task.Delay(200);
        Assert.Single(announcedOnA);
        Assert.Single(announcedOnB);
    }

    [Fact]
    public async Task A_node_started_later_loads_the_existing_list()
    {
        var (nodeA, _) = await StartNode();
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "earlier");
        var recorded = await nodeA.RevokeAsync(new TokenRevocation(target, 1000, 1000)).Within();

        var (late, _) = await StartNode();

        Assert.True(late.TryGet(target, out var loaded));
        Assert.Equal(recorded, loaded);
    }

    [Fact]
    public async Task The_reload_recovers_a_revocation_whose_notice_was_lost()
    {
        var (node, announced) = await StartNode();
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "missed");

        // Written as revoke.lua would, but with no notice: what a node misses while its link to Redis is down.
        await redis.Redis.GetDatabase().HashSetAsync(_keys.Revocations, RedisTokenRevocationStore.Field(target), "3000 3000");
        await Task.Delay(200);
        Assert.False(node.TryGet(target, out _));

        await node.ReloadAsync().Within();

        Assert.True(node.TryGet(target, out var reloaded));
        Assert.Equal(new TokenRevocation(target, 3000, 3000), reloaded);
        Assert.Equal([reloaded], announced);
    }

    private async Task<(RedisTokenRevocationStore Store, ConcurrentQueue<TokenRevocation> Announced)> StartNode()
    {
        var multiplexer = await redis.ConnectAsync();
        var store = new RedisTokenRevocationStore(multiplexer, _keys, TimeProvider.System, reloadInterval: TimeSpan.FromHours(1));
        var announced = new ConcurrentQueue<TokenRevocation>();
        store.Revoked += announced.Enqueue;
        await store.StartAsync(CancellationToken.None).Within();
        _disposables.Add(new Stopper(store, multiplexer));
        return (store, announced);
    }

    private sealed class Stopper(RedisTokenRevocationStore store, ConnectionMultiplexer multiplexer) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await store.StopAsync(CancellationToken.None);
            await multiplexer.DisposeAsync();
        }
    }
}
