using TokenWire.Conformance;
using TokenWire.Protocol;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Presence;

namespace TokenWire.Redis.Tests.Presence;

/// <summary>The Redis engine against the shared presence contract: each test has its own key prefix on one real redis-server.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPresenceStoreTests(RedisServerFixture redis) : PresenceStoreConformance
{
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());

    protected override IPresenceStore CreateStore() => new RedisPresenceStore(redis.Redis, _keys);

    [Fact]
    public async Task Another_node_sees_the_events_and_members_with_a_leave_carrying_the_last_binary_data()
    {
        await using var otherLink = await redis.ConnectAsync();
        var other = new RedisPresenceStore(otherLink, _keys);
        var received = new List<PresenceMessage>();
        await using var subscription = await other.SubscribeAsync(Channel, e =>
        {
            lock (received)
            {
                received.AddRange(e.Messages);
            }
        });
        var enter = Change(PresenceAction.Enter, "alice", "c1");
        enter.Message.Data = MessageData.FromBytes([9, 0, 255]);
        enter.Message.Encoding = "cipher+aes-128-cbc";

        await Store.ApplyAsync(Channel, [enter], 0);
        var member = Assert.Single(await other.GetMembersAsync(Channel));
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Leave, "alice", "c1")], 0);
        await Wait.Eventually("two events on the other node", () =>
        {
            lock (received)
            {
                return received.Count == 2;
            }
        });

        Assert.Equal(PresenceAction.Present, member.Action);
        Assert.Equal(new byte[] { 9, 0, 255 }, member.Data.Bytes);
        Assert.Equal([PresenceAction.Enter, PresenceAction.Leave], received.Select(m => m.Action));
        Assert.All(received, m => Assert.Equal(new byte[] { 9, 0, 255 }, m.Data.Bytes));
        Assert.All(received, m => Assert.Equal("cipher+aes-128-cbc", m.Encoding));
        Assert.Empty(await other.GetMembersAsync(Channel));
    }

    [Fact]
    public async Task A_channel_that_gains_members_is_indexed_for_the_dead_node_sweep()
    {
        await Store.ApplyAsync(Channel, [Change(PresenceAction.Enter, "alice", "c1")], 0);

        Assert.True(await redis.Redis.GetDatabase().SetContainsAsync(_keys.PresenceChannels, Channel.ToString()));
    }
}
