using TokenWire.Client.Internal;
using TokenWire.Protocol;

namespace TokenWire.Client.Tests;

/// <summary>The member set's rules (spec RTP2, RTP18, RTP19), no server.</summary>
public sealed class PresenceMapTests
{
    [Fact]
    public void Newness_compares_msgSerial_then_index_and_falls_back_to_timestamps_for_synthesized_ids()
    {
        Assert.True(PresenceMap.IsNewer(Item("c1:10:0"), Item("c1:9:5")));
        Assert.True(PresenceMap.IsNewer(Item("c1:9:6"), Item("c1:9:5")));
        Assert.False(PresenceMap.IsNewer(Item("c1:9:5"), Item("c1:9:5")));
        Assert.False(PresenceMap.IsNewer(Item("c1:2:0"), Item("c1:10:0")), "numeric, not lexicographic");

        // Synthesized (id not starting with the connectionId): timestamps decide, ties go to the newcomer.
        Assert.True(PresenceMap.IsNewer(Item("x", timestamp: 5), Item("c1:9:0", timestamp: 5)));
        Assert.False(PresenceMap.IsNewer(Item("x", timestamp: 4), Item("c1:9:0", timestamp: 5)));
        Assert.True(PresenceMap.IsNewer(Item(null, timestamp: 6), Item("c1:9:0", timestamp: 5)));
    }

    [Fact]
    public void Stale_events_are_ignored_and_a_leave_removes_the_member()
    {
        var map = new PresenceMap();
        Assert.True(map.Put(Item("c1:1:0")));
        Assert.False(map.Put(Item("c1:0:0")));
        Assert.False(map.Remove(Item("c1:0:0", PresenceAction.Leave)));
        Assert.Single(map.Snapshot(null, null));
        Assert.True(map.Remove(Item("c1:2:0", PresenceAction.Leave)));
        Assert.Empty(map.Snapshot(null, null));
    }

    [Fact]
    public void A_sync_keeps_leaves_as_tombstones_and_ends_with_leaves_for_members_it_did_not_list()
    {
        var map = new PresenceMap();
        map.Put(Item("c1:1:0", clientId: "gone"));
        map.Put(Item("c1:2:0", clientId: "stays"));
        map.StartSync("s1");

        map.Put(Item("c1:2:0", PresenceAction.Present, clientId: "stays"));
        map.Remove(Item("c1:5:0", PresenceAction.Leave, clientId: "late"));
        Assert.False(map.Put(Item("c1:4:0", PresenceAction.Present, clientId: "late")), "an older PRESENT cannot revive a member that left");

        var leaves = map.EndSync(now: 99);
        var leave = Assert.Single(leaves);
        Assert.Equal(("gone", PresenceAction.Leave, 99L), (leave.ClientId, leave.Action, leave.Timestamp!.Value));
        Assert.Equal(["stays"], map.Snapshot(null, null).Select(m => m.ClientId));
        Assert.False(map.SyncInProgress);
    }

    private static PresenceMessage Item(string? id, PresenceAction action = PresenceAction.Enter, string clientId = "a", long timestamp = 1) =>
        new() { Id = id, Action = action, ClientId = clientId, ConnectionId = "c1", Timestamp = timestamp };
}
