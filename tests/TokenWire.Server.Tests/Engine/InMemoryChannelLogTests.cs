using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Server.Tests.Engine;

/// <summary>
/// The in-memory log's own idempotency table and memory (the shared contract is <c>InMemoryMessageLogTests</c>): ids
/// that outlive their message, ids whose hashes collide, and what a flood leaves once its history has expired.
/// </summary>
public sealed class InMemoryChannelLogTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 3, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    [Fact]
    public void An_id_whose_message_was_trimmed_by_count_is_deduplicated_until_its_window_ends()
    {
        var log = new InMemoryChannelLog(LogPosition.NewEpoch(Start));
        var retention = new ChannelRetention(TimeSpan.FromHours(1), 2, Window);
        var first = log.Append([WithId("m1")], retention, Start, null);
        log.Append([WithId("m2"), WithId("m3")], retention, Start, null);
        Assert.False(log.ContainsMessage(Position(first.Serials[0])));

        var again = log.Append([WithId("m1"), WithId("m3")], retention, Start.AddMinutes(1), null);

        Assert.Empty(again.Appended);
        Assert.Equal(first.Serials[0], again.Serials[0]);
        var later = log.Append([WithId("m1")], retention, Start + Window, null);
        Assert.Equal(4, Assert.Single(later.Appended).Offset);
    }

    [Fact]
    public void An_id_whose_window_outlasts_the_retention_is_deduplicated_after_its_message_expired()
    {
        var log = new InMemoryChannelLog(LogPosition.NewEpoch(Start));
        var retention = new ChannelRetention(TimeSpan.FromMinutes(1), 100, Window);
        var first = log.Append([WithId("m1")], retention, Start, null);
        log.TrimAndCheckIdle(Start.AddSeconds(90), TimeSpan.FromHours(1));
        Assert.False(log.ContainsMessage(Position(first.Serials[0])));

        var again = log.Append([WithId("m1")], retention, Start.AddSeconds(100), null);
        var refused = Assert.Throws<AppendOutOfOrderException>(() => log.Append([WithId("m3")], retention, Start + Window, "m1"));

        Assert.Empty(again.Appended);
        Assert.Equal(first.Serials[0], again.Serials[0]);
        Assert.Equal("m1", refused.AfterId);
        Assert.Single(log.Append([WithId("m1")], retention, Start + Window, null).Appended);
    }

    [Fact]
    public void Ids_whose_hashes_collide_are_told_apart_by_their_stored_bytes()
    {
        // Every id hashes alike: only the comparison with the id in the stored message can tell them apart.
        var log = new InMemoryChannelLog(LogPosition.NewEpoch(Start), static _ => 42);
        var retention = new ChannelRetention(TimeSpan.FromHours(1), 100, Window);
        var first = log.Append([WithId("a"), WithId("b"), WithId("c")], retention, Start, null);

        var again = log.Append([WithId("c"), WithId("d"), WithId("a"), WithId("b")], retention, Start.AddSeconds(1), null);

        Assert.Equal(3, first.Appended.Count);
        Assert.Equal(4, Assert.Single(again.Appended).Offset);
        Assert.Equal([first.Serials[2], again.Serials[1], first.Serials[0], first.Serials[1]], again.Serials);
        Assert.Single(log.Append([WithId("e")], retention, Start.AddSeconds(2), "d").Appended);
        Assert.Throws<AppendOutOfOrderException>(() => log.Append([WithId("f")], retention, Start.AddSeconds(2), "x"));

        // Once a's window has ended (b's, c's and d's too), a is new again; e, stored later, is still deduplicated.
        var later = log.Append([WithId("a"), WithId("e")], retention, Start.AddSeconds(1) + Window, null);
        Assert.Equal(6, Assert.Single(later.Appended).Offset);
        Assert.Equal(later.Appended[0].Message.Serial, later.Serials[0]);
    }

    [Fact]
    public void A_flood_s_entry_list_and_id_table_are_given_back_once_its_history_has_expired()
    {
        var log = new InMemoryChannelLog(LogPosition.NewEpoch(Start));
        var retention = new ChannelRetention(Window, 100_000, Window);
        for (var i = 0; i < 20_000; i++)
        {
            log.Append([WithId($"conn:{i}:0")], retention, Start, null);
        }

        var flooded = log.Capacity;
        Assert.True(flooded.Entries >= 20_000 && flooded.Ids >= 20_000, $"{flooded}");

        log.TrimAndCheckIdle(Start + Window + TimeSpan.FromSeconds(1), TimeSpan.FromHours(1));

        var after = log.Capacity;
        Assert.True(after.Entries < 1_024 && after.Ids < 1_024, $"{after}");
        Assert.Single(log.Append([WithId("conn:0:0")], retention, Start + Window + TimeSpan.FromSeconds(2), null).Appended);
    }

    private static LogPosition Position(string? serial) => LogPosition.TryParse(serial, out var position) ? position : throw new FormatException(serial);

    private static Message WithId(string id) => new() { Id = id, Name = "n", Data = MessageData.FromText(id), ConnectionId = "conn" };
}
