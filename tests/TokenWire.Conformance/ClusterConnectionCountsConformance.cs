using TokenWire.Server.Connections;

namespace TokenWire.Conformance;

/// <summary>
/// The part of the <see cref="IClusterConnectionCounts"/> contract every engine shares: a node never counts its own
/// connections as elsewhere, and an app nobody connects to has none. Each engine's test class inherits this; the
/// cluster-wide counting itself is the scale-out engine's own test.
/// </summary>
public abstract class ClusterConnectionCountsConformance : IAsyncLifetime
{
    /// <summary>Starts a node reporting <paramref name="liveConnections"/> of its own for each app.</summary>
    protected abstract Task<IClusterConnectionCounts> StartNodeAsync(Func<string, int> liveConnections);

    /// <summary>Has every started node publish and read the figures now, for an engine that does so in the background.</summary>
    protected virtual Task RefreshAsync() => Task.CompletedTask;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_node_does_not_count_its_own_connections_as_elsewhere()
    {
        var node = await StartNodeAsync(_ => 3);

        await RefreshAsync().Within();

        Assert.Equal(0, node.OnOtherNodes("dev"));
    }

    [Fact]
    public async Task An_app_without_connections_has_none_on_other_nodes()
    {
        var node = await StartNodeAsync(app => app == "dev" ? 3 : 0);
        await StartNodeAsync(app => app == "dev" ? 2 : 0);

        await RefreshAsync().Within();

        Assert.Equal(0, node.OnOtherNodes("no-such-app"));
    }
}
