using Microsoft.Extensions.Options;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Connections;

namespace TokenWire.Server.Tests.Connections;

public sealed class LiveConnectionsTests
{
    private static readonly AppDefinition AppA = App("a");
    private static readonly AppDefinition AppB = App("b");

    [Fact]
    public void Each_app_holds_at_most_its_limit_and_a_removal_frees_a_slot()
    {
        var live = Live(maxPerApp: 2);
        var first = Connection(AppA);
        var second = Connection(AppA);

        Assert.True(live.TryAdd(first));
        Assert.True(live.TryAdd(second));
        Assert.False(live.TryAdd(Connection(AppA)));
        Assert.True(live.TryAdd(Connection(AppB)), "another app has its own count");

        live.Remove(first);
        Assert.True(live.TryAdd(Connection(AppA)));
        Assert.Equal(2, live.CountFor("a"));
    }

    [Fact]
    public void A_connection_already_counted_takes_no_second_slot_when_it_resumes()
    {
        var live = Live(maxPerApp: 1);
        var connection = Connection(AppA);

        Assert.True(live.TryAdd(connection));
        Assert.True(live.TryAdd(connection));
        Assert.Equal([connection], live.ForApp("a"));
    }

    [Fact]
    public void Zero_means_unlimited()
    {
        var live = Live(maxPerApp: 0);

        Assert.All(Enumerable.Range(0, 1000), _ => Assert.True(live.TryAdd(Connection(AppA))));
        Assert.Equal(1000, live.CountFor("a"));
        Assert.Empty(live.ForApp("nobody"));
    }

    [Fact]
    public void The_limit_counts_the_connections_other_nodes_hold()
    {
        var cluster = new OtherNodes { ["a"] = 2 };
        var live = Live(maxPerApp: 3, cluster);

        Assert.True(live.TryAdd(Connection(AppA)));
        Assert.False(live.TryAdd(Connection(AppA)), "1 here + 2 elsewhere = the limit");
        Assert.True(live.TryAdd(Connection(AppB)));

        cluster["a"] = 0;
        Assert.True(live.TryAdd(Connection(AppA)));
        Assert.Equal(2, live.CountFor("a"));
    }

    private static LiveConnections Live(int maxPerApp, IClusterConnectionCounts? cluster = null) =>
        new(Options.Create(new TokenWireOptions { Limits = new LimitOptions { MaxConnectionsPerApp = maxPerApp } }), cluster ?? new InMemoryClusterConnectionCounts());

    private sealed class OtherNodes : Dictionary<string, int>, IClusterConnectionCounts
    {
        public int OnOtherNodes(string appId) => TryGetValue(appId, out var count) ? count : 0;
    }

    private static RealtimeConnection Connection(AppDefinition app)
    {
        var id = ConnectionIds.NewConnectionId();
        return new RealtimeConnection(id, ConnectionIds.NewConnectionKey(id), new AuthContext(app, app.Keys.Values.First(), Capability.All, null));
    }

    private static AppDefinition App(string id)
    {
        var key = new ApiKey(id, "k", "secret", Capability.All);
        return new AppDefinition(id, new Dictionary<string, ApiKey> { [key.Name] = key }, new HashSet<string>(), maxMessageSize: 65536, maxPresenceMembers: 20000);
    }
}
