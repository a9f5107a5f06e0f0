using System.Text.Json;
using TokenWire.Server.Stats;

namespace TokenWire.Server.Tests.Stats;

public sealed class StatsEntriesTests
{
    [Fact]
    public void Leaves_expand_to_every_aggregate_Ably_reports_and_zero_entries_are_left_out()
    {
        var entries = StatsEntries.Expand(new Dictionary<string, long>
        {
            ["messages.inbound.realtime.messages.count"] = 70,
            ["messages.inbound.rest.messages.count"] = 5,
            ["messages.outbound.realtime.presence.count"] = 40,
            ["messages.persisted.presence.count"] = 20,
            ["connections.all.opened"] = 10,
            ["apiRequests.other.succeeded"] = 50,
            ["apiRequests.tokenRequests.succeeded"] = 60,
            ["channels.refused"] = 0,
        });

        Assert.Equal(75, entries["messages.inbound.all.messages.count"]);
        Assert.Equal(70, entries["messages.inbound.realtime.all.count"]);
        Assert.Equal(75, entries["messages.inbound.all.all.count"]);
        Assert.Equal(40, entries["messages.outbound.all.presence.count"]);
        Assert.Equal(75, entries["messages.all.messages.count"]);
        Assert.Equal(40, entries["messages.all.presence.count"]);
        Assert.Equal(115, entries["messages.all.all.count"]);
        Assert.Equal(20, entries["messages.persisted.all.count"]);
        Assert.Equal(10, entries["connections.all.opened"]);
        Assert.Equal(110, entries["apiRequests.all.succeeded"]);
        Assert.False(entries.ContainsKey("channels.refused"));
        Assert.False(entries.ContainsKey("connections.all.all.opened"));
    }

    [Fact]
    public void A_fixture_in_Ablys_nested_shape_becomes_leaves_and_a_flat_one_is_kept()
    {
        using var nested = JsonDocument.Parse("""
            {"intervalId":"2025-02-03:15:05","inbound":{"realtime":{"messages":{"count":70,"data":7000}}},
             "persisted":{"presence":{"count":20}},"connections":{"tls":{"peak":20,"opened":10}},"channels":{"peak":50},
             "apiRequests":{"succeeded":50,"failed":10},"tokenRequests":{"succeeded":60}}
            """);
        using var flat = JsonDocument.Parse("""{"intervalId":"2025-02-03:15:05","entries":{"channels.opened":3}}""");

        var leaves = StatsEntries.FromFixture(nested.RootElement);
        var expanded = StatsEntries.Expand(leaves);

        Assert.Equal(70, leaves["messages.inbound.realtime.messages.count"]);
        Assert.Equal(7000, leaves["messages.inbound.realtime.messages.data"]);
        Assert.Equal(20, leaves["messages.persisted.presence.count"]);
        Assert.Equal(20, expanded["connections.all.peak"]);
        Assert.Equal(50, leaves["channels.peak"]);
        Assert.Equal(110, expanded["apiRequests.all.succeeded"]);
        Assert.Equal(60, expanded["apiRequests.tokenRequests.succeeded"]);
        Assert.Equal(10, expanded["apiRequests.all.failed"]);
        Assert.False(leaves.ContainsKey("intervalId"));
        Assert.Equal(new Dictionary<string, long> { ["channels.opened"] = 3 }, StatsEntries.FromFixture(flat.RootElement));
    }

    [Fact]
    public void Peaks_merge_by_maximum_and_counts_by_sum()
    {
        var entries = new Dictionary<string, long>();
        StatsEntries.Merge(entries, "channels.peak", 5);
        StatsEntries.Merge(entries, "channels.peak", 3);
        StatsEntries.Merge(entries, "channels.opened", 5);
        StatsEntries.Merge(entries, "channels.opened", 3);

        Assert.Equal(5, entries["channels.peak"]);
        Assert.Equal(8, entries["channels.opened"]);
    }

    [Fact]
    public void Counters_are_taken_once_and_only_when_nonzero()
    {
        var counters = new StatsCounters();
        counters.Add(StatsCounter.InboundRealtimeMessagesCount, 2, StatsCounter.InboundRealtimeMessagesData, 10);
        counters.Add(StatsCounter.OutboundRealtimeMessagesCount, 0, StatsCounter.OutboundRealtimeMessagesData, 99);
        counters.Add(StatsCounter.ApiRequestsRefused, 1);

        Assert.Equal(
            new Dictionary<string, long> { ["messages.inbound.realtime.messages.count"] = 2, ["messages.inbound.realtime.messages.data"] = 10, ["apiRequests.other.refused"] = 1 },
            counters.Take());
        Assert.Empty(counters.Take());
    }
}
