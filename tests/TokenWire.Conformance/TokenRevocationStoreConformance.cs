using System.Collections.Concurrent;
using TokenWire.Server.Auth;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="ITokenRevocationStore"/> contract, run against every engine: each engine's test class inherits this
/// and starts nodes sharing one revocation list (the embedded engine has one node, so every "node" is the same store).
/// "Not announced again" is asserted by revoking a marker after it and waiting for that, never by sleeping.
/// </summary>
public abstract class TokenRevocationStoreConformance : IAsyncLifetime
{
    /// <summary>Starts a node of the engine under test, sharing revocations with every node this test started.</summary>
    protected abstract Task<ITokenRevocationStore> StartNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_revocation_recorded_on_one_node_is_in_force_and_announced_on_every_node()
    {
        var a = await Node.StartAsync(this);
        var b = await Node.StartAsync(this);
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "victim");

        var recorded = await a.Store.RevokeAsync(new TokenRevocation(target, 1000, 2000)).Within();

        Assert.Equal(new TokenRevocation(target, 1000, 2000), recorded);
        Assert.True(a.Store.TryGet(target, out var onA));
        Assert.Equal(recorded, onA);
        Assert.False(a.Store.IsEmpty);
        await Wait.Eventually("node B announces it", () => b.Announced.Count == 1);
        Assert.True(b.Store.TryGet(target, out var onB));
        Assert.Equal(recorded, onB);
        Assert.Equal([recorded], a.Announced);
        Assert.Equal([recorded], b.Announced);
        Assert.False(b.Store.TryGet(target with { Value = "bystander" }, out _));
    }

    [Fact]
    public async Task A_narrower_revocation_changes_nothing_and_is_not_announced_and_a_wider_one_replaces_it()
    {
        var a = await Node.StartAsync(this);
        var b = await Node.StartAsync(this);
        var target = new RevocationTarget("dev.root", RevocationTarget.RevocationKey, "group 1:a\nb");
        var wide = await a.Store.RevokeAsync(new TokenRevocation(target, 5000, 5000)).Within();
        await Wait.Eventually("node B has the revocation", () => b.Announced.Count == 1);

        var narrower = await b.Store.RevokeAsync(new TokenRevocation(target, 4000, 4000)).Within();
        var marker = await b.Store.RevokeAsync(new TokenRevocation(target with { Value = "marker" }, 1, 1)).Within();
        await Wait.Eventually("the marker is announced on both nodes", () => a.Announced.Contains(marker) && b.Announced.Contains(marker));

        Assert.Equal(wide, narrower);
        Assert.Equal([wide, marker], a.Announced);
        Assert.Equal([wide, marker], b.Announced);

        var wider = await b.Store.RevokeAsync(new TokenRevocation(target, 6000, 6000)).Within();
        await Wait.Eventually("node A has the wider one", () => a.Store.TryGet(target, out var now) && now == wider);
        Assert.Equal(new TokenRevocation(target, 6000, 6000), wider);
    }

    [Fact]
    public async Task A_store_with_no_revocations_is_empty_and_finds_nothing()
    {
        var store = await StartNodeAsync();

        Assert.True(store.IsEmpty);
        Assert.False(store.TryGet(new RevocationTarget("dev.root", RevocationTarget.ClientId, "anyone"), out _));
    }

    [Fact]
    public async Task A_node_started_later_has_the_revocations_already_recorded()
    {
        var a = await StartNodeAsync();
        var target = new RevocationTarget("dev.root", RevocationTarget.ClientId, "earlier");
        var recorded = await a.RevokeAsync(new TokenRevocation(target, 1000, 1000)).Within();

        var late = await StartNodeAsync();

        Assert.True(late.TryGet(target, out var loaded));
        Assert.Equal(recorded, loaded);
    }

    private sealed record Node(ITokenRevocationStore Store, ConcurrentQueue<TokenRevocation> Announced)
    {
        public static async Task<Node> StartAsync(TokenRevocationStoreConformance suite)
        {
            var store = await suite.StartNodeAsync();
            var announced = new ConcurrentQueue<TokenRevocation>();
            store.Revoked += announced.Enqueue;
            return new Node(store, announced);
        }
    }
}
