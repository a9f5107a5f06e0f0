using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;

namespace TokenWire.Redis.Tests.Presence;

/// <summary>The dead-node sweep: members of a node whose heartbeat expired leave, broadcast and recorded; others stay.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPresenceSweeperTests(RedisServerFixture redis)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(1);

    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly ChannelKey _channel = new("app", $"sweep-{Guid.NewGuid():N}");

    [Fact]
    public async Task Members_of_a_node_whose_heartbeat_expired_leave_and_the_rest_stay()
    {
        var options = Options.Create(new TokenWireOptions { Apps = [new AppOptions { Id = "app", Keys = [new KeyOptions { Id = "k", Secret = "s" }] }] });
        var log = new InMemoryMessageLog(TimeProvider.System, TimeSpan.FromMinutes(5));
        var store = new RedisPresenceStore(redis.Redis, _keys);
        var liveNode = new NodeInstance("livenode");
        var presence = new PresenceService(store, log, new EngineOutage(options, TimeProvider.System, NullLogger<EngineOutage>.Instance), new ChannelRules(options), new AppRegistry(options), options, TimeProvider.System, liveNode, NullLogger<PresenceService>.Instance);
        var engine = new RedisEngineOptions(redis.Configuration, _keys.Prefix) { NodeTtl = Ttl };
        using var live = new RedisNodeHeartbeat(redis.Redis, _keys, liveNode, engine, "live", TimeProvider.System);

        // The dying node's heartbeat ends when the test says (it deletes the key), not when a TTL runs out: a stalled
        // thread pool on a loaded box must not let it lapse before the first sweep.
        using var dying = new RedisNodeHeartbeat(redis.Redis, _keys, new NodeInstance("deadnode"), engine with { NodeTtl = TimeSpan.FromMinutes(5) }, "dead", TimeProvider.System);
        using var sweeper = new RedisPresenceSweeper(redis.Redis, _keys, live, presence, engine, TimeProvider.System);
        await live.StartAsync(CancellationToken.None);
        await dying.StartAsync(CancellationToken.None);
        var events = new List<PresenceMessage>();
        await using var subscription = await store.SubscribeAsync(_channel, e =>
        {
            lock (events)
            {
                events.AddRange(e.Messages);
            }
        });

        await store.ApplyAsync(_channel, [Enter("alice", "c1", "deadnode"), Enter("bob", "c2", "deadnode"), Enter("carol", "c3", "livenode")], 0);
        await store.ApplyAsync(_channel, [Enter("bob", "c2", "livenode")], 0); // bob's connection resumed on the live node
        await Wait.Eventually("this node may sweep", () => live.MaySweep);
        Assert.Equal(0, await sweeper.SweepAsync()); // the dying node's heartbeat is still there

        await dying.StopAsync(CancellationToken.None); // SIGKILL, as far as Redis can tell: no more renewals...
        await redis.Redis.GetDatabase().KeyDeleteAsync(_keys.NodeHeartbeat("deadnode")); // ...and its heartbeat expired

        Assert.Equal(1, await sweeper.SweepAsync());

        Assert.Equal(["bob:c2", "carol:c3"], (await store.GetMembersAsync(_channel)).Select(m => m.MemberKey));
        await Wait.Eventually("the leave is broadcast", () =>
        {
            lock (events)
            {
                return events.Any(e => e.Action == PresenceAction.Leave);
            }
        });
        lock (events)
        {
            var leave = Assert.Single(events, e => e.Action == PresenceAction.Leave);
            Assert.Equal(("alice", "c1", "data of alice"), (leave.ClientId, leave.ConnectionId, leave.Data.Text));
        }

        var history = await log.ReadHistoryAsync(PresenceService.HistoryKey(_channel), new HistoryQuery(null, null, false, 10, null, null));
        Assert.Equal(PresenceAction.Leave, PresenceMessage.FromMessage(history.Entries[0].Message).Action);
        Assert.Equal(0, await sweeper.SweepAsync());
    }

    [Fact]
    public async Task A_channel_left_empty_is_dropped_from_the_index()
    {
        var options = Options.Create(new TokenWireOptions());
        var store = new RedisPresenceStore(redis.Redis, _keys);
        var node = new NodeInstance("onlynode");
        var presence = new PresenceService(store, new InMemoryMessageLog(TimeProvider.System, TimeSpan.FromMinutes(5)), new EngineOutage(options, TimeProvider.System, NullLogger<EngineOutage>.Instance), new ChannelRules(options), new AppRegistry(options), options, TimeProvider.System, node, NullLogger<PresenceService>.Instance);
        var engine = new RedisEngineOptions(redis.Configuration, _keys.Prefix) { NodeTtl = TimeSpan.FromMilliseconds(300) };
        using var heartbeat = new RedisNodeHeartbeat(redis.Redis, _keys, node, engine, "only", TimeProvider.System);
        using var sweeper = new RedisPresenceSweeper(redis.Redis, _keys, heartbeat, presence, engine, TimeProvider.System);
        await heartbeat.StartAsync(CancellationToken.None);
        await store.ApplyAsync(_channel, [Enter("alice", "c1", "onlynode")], 0);
        await store.ApplyAsync(_channel, [new PresenceChange(new PresenceMessage { Id = "x:1:0", Action = PresenceAction.Leave, ClientId = "alice", ConnectionId = "c1", Timestamp = 1 }, "onlynode/c1")], 0);

        await Wait.Eventually("this node may sweep", () => heartbeat.MaySweep);
        await sweeper.SweepAsync();

        Assert.False(await redis.Redis.GetDatabase().SetContainsAsync(_keys.PresenceChannels, _channel.ToString()));
    }

    private static PresenceChange Enter(string clientId, string connectionId, string node) =>
        new(
            new PresenceMessage
            {
                Id = $"{connectionId}:0:0",
                Action = PresenceAction.Enter,
                ClientId = clientId,
                ConnectionId = connectionId,
                Data = MessageData.FromText("data of " + clientId),
                Timestamp = 1_795_000_000_000,
            },
            $"{node}/{connectionId}");
}
