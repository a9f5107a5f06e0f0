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

    [Fact]
    public void History_time_bounds_trims_by_count_and_age_and_retries_hold_across_segments_of_the_entry_list()
    {
        var epoch = LogPosition.NewEpoch(Start);
        var log = new InMemoryChannelLog(epoch);
        var byCount = new ChannelRetention(TimeSpan.FromMinutes(10), 3 * RetainedEntries.SegmentEntries, Window);
        var total = (5 * RetainedEntries.SegmentEntries) + 100;
        var serials = new string?[total + 1];
        for (var i = 1; i <= total; i++)
        {
            serials[i] = log.Append([WithId($"conn:{i}:0")], byCount, Start.AddMilliseconds(i * 10), null).Serials[0];
        }

        // Trimmed by count: the last 3 segments' worth are retained, the rest only as ids within their window.
        var first = total - (3 * RetainedEntries.SegmentEntries) + 1;
        Assert.False(log.ContainsMessage(new LogPosition(epoch, first - 1)));
        Assert.True(log.ContainsMessage(new LogPosition(epoch, first)));
        var now = Start.AddMilliseconds((total * 10) + 1);
        foreach (var i in new[] { 1, first - 1, first, RetainedEntries.SegmentEntries * 4, (RetainedEntries.SegmentEntries * 4) + 1, total })
        {
            var again = log.Append([WithId($"conn:{i}:0")], byCount, now, null);
            Assert.Empty(again.Appended);
            Assert.Equal(serials[i], again.Serials[0]);
        }

        // A time-bounded page whose bounds fall in different segments.
        var from = (RetainedEntries.SegmentEntries * 3) + 5;
        var to = (RetainedEntries.SegmentEntries * 4) + 7;
        var page = log.ReadHistory(new HistoryQuery(Start.AddMilliseconds(from * 10).ToUnixTimeMilliseconds(), Start.AddMilliseconds(to * 10).ToUnixTimeMilliseconds(), Forwards: true, Limit: 5_000, null, null));
        Assert.Equal(Enumerable.Range(from, to - from + 1).Select(i => $"conn:{i}:0"), page.Entries.Select(e => e.Message.Id));

        // Trimmed by age: a shorter retention drops everything up to the page's end.
        var byAge = byCount with { MaxAge = TimeSpan.FromMilliseconds((total - to) * 10) };
        log.TrimAndCheckIdle(now, TimeSpan.FromHours(1));
        Assert.Single(log.Append([WithId("late")], byAge, now, null).Appended);
        Assert.False(log.ContainsMessage(new LogPosition(epoch, to)));
        Assert.True(log.ContainsMessage(new LogPosition(epoch, to + 1)));
        Assert.Equal(Enumerable.Range(to + 1, 3).Select(i => $"conn:{i}:0"), log.ReadHistory(new HistoryQuery(null, null, Forwards: true, Limit: 3, null, null)).Entries.Select(e => e.Message.Id));
        Assert.Equal(serials[to], log.Append([WithId($"conn:{to}:0")], byAge, now, null).Serials[0]); // trimmed by age within its window
        Assert.Single(log.Append([WithId($"conn:{to}:0")], byAge, now.Add(Window), null).Appended);
    }

    [Fact]
    public void Versions_of_a_mutable_message_across_segment_boundaries_read_back_with_their_original()
    {
        var epoch = LogPosition.NewEpoch(Start);
        var log = new InMemoryChannelLog(epoch);
        var retention = new ChannelRetention(TimeSpan.FromHours(1), 100_000, Window, Mutable: true);
        var filler = log.Append([WithId("filler")], retention, Start, null);
        var original = log.Append([new Message { Id = "orig", Name = "n", Data = MessageData.FromText("x") }], retention, Start, null).Appended[0];
        var appends = (2 * RetainedEntries.SegmentEntries) + 3;
        for (var i = 0; i < appends; i++)
        {
            var token = new Message { Id = $"tok:{i}", Action = MessageActions.Append, Data = MessageData.FromText("y") };
            log.AppendMutation(new MessageMutation(epoch, original.Offset, token, null, MayChangeAny: true), retention, Start.AddMilliseconds(i), null);
        }

        var versions = log.ReadMessage(new LogPosition(epoch, original.Offset))!;
        Assert.Equal(appends, versions.Versions.Count);
        Assert.All(versions.Versions, v => Assert.Equal(original.Offset, v.VersionOf));
        Assert.Equal(Enumerable.Range(0, appends).Select(i => original.Offset + 1 + i), versions.Versions.Select(v => v.Offset));
        var page = log.ReadHistory(new HistoryQuery(null, null, Forwards: true, Limit: 10, null, null));
        Assert.Equal([filler.Appended[0].Offset, original.Offset], page.Entries.Select(e => e.Offset));
        Assert.Equal("x" + new string('y', appends), page.Entries[1].Message.Data.Text);
        Assert.False(log.ContainsMessage(new LogPosition(epoch, original.Offset + RetainedEntries.SegmentEntries)));
    }

    private static LogPosition Position(string? serial) => LogPosition.TryParse(serial, out var position) ? position : throw new FormatException(serial);

    private static Message WithId(string id) => new() { Id = id, Name = "n", Data = MessageData.FromText(id), ConnectionId = "conn" };
}
