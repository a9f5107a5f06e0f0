using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IMessageLog"/> contract, run against every engine: each engine's test class inherits this and
/// supplies the log. Time is a <see cref="FakeTimeProvider"/>; an engine that trims or forgets channels in the
/// background makes that happen in <see cref="Sweep"/>.
/// </summary>
public abstract class MessageLogConformance : IAsyncLifetime
{
    protected static readonly ChannelKey Channel = new("app", "chan");
    protected static readonly DateTimeOffset Start = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    protected static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 10_000, TimeSpan.FromMinutes(2));

    /// <summary>How long an idle, empty channel keeps its epoch in these tests.</summary>
    protected static readonly TimeSpan ForgetIdleAfter = TimeSpan.FromMinutes(5);

    private IMessageLog? _log;

    protected FakeTimeProvider Time { get; } = new(Start);

    protected IMessageLog Log => _log ??= CreateLog(Time, ForgetIdleAfter);

    protected abstract IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter);

    /// <summary>Runs the engine's background trimming and forgetting now, if it has any.</summary>
    protected virtual void Sweep()
    {
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        (_log as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Appends_get_strictly_increasing_gap_free_offsets_and_serials()
    {
        var entries = new List<LogEntry>();
        var batch = 1;
        while (entries.Count < 60)
        {
            var result = await Append(Channel, Names(entries.Count + 1, batch));
            Assert.Equal(batch, result.Appended.Count);
            Assert.Equal(result.Appended.Select(e => e.Message.Serial), result.Serials);
            entries.AddRange(result.Appended);
            batch = batch % 7 + 1;
        }

        Assert.Equal(Enumerable.Range(1, entries.Count).Select(i => (long)i), entries.Select(e => e.Offset));
        var serials = entries.Select(e => e.Message.Serial!).ToArray();
        Assert.Equal(serials, serials.Order(StringComparer.Ordinal));
        Assert.Equal(serials.Length, serials.Distinct().Count());
        var epoch = entries[0].Message.Serial![..LogPosition.EpochDigits];
        Assert.All(entries, e => Assert.Equal(new LogPosition(epoch, e.Offset).ToSerial(), e.Message.Serial));
        Assert.Equal(new LogPosition(epoch, entries.Count), await Log.GetHeadAsync(Channel).Within());
    }

    [Fact]
    public async Task Append_stamps_timestamp_and_default_action_and_reports_its_last_position()
    {
        var result = await Append(Channel, "a", "b");

        Assert.All(result.Appended, e => Assert.Equal(Start.ToUnixTimeMilliseconds(), e.Message.Timestamp));
        Assert.All(result.Appended, e => Assert.Equal(0, e.Message.Action));
        Assert.Equal(new LogPosition(result.Epoch, 2), result.Last);
        Assert.Equal(LogPosition.NewEpoch(Start), result.Epoch);
    }

    [Fact]
    public async Task Every_field_of_a_message_reads_back_as_appended_with_its_position()
    {
        var text = new Message
        {
            Id = "conn:3:0",
            Name = "token",
            Data = MessageData.FromText("hé"),
            Encoding = "utf-8",
            ClientId = "ada",
            ConnectionId = "conn",
            Extras = JsonPayload.Parse("""{"headers":{"responseId":"r1"}}"""),
        };
        var binary = new Message { Id = "conn:3:1", Data = MessageData.FromBytes([0, 255]) };
        var appended = await Log.AppendAsync(Channel, [text, binary], Retention).Within();

        var history = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, true, 10, null, null)).Within();
        var resumed = await Log.ReadAfterAsync(Channel, new LogPosition(appended.Epoch, 0), 10).Within();
        var recent = await Log.ReadRecentAsync(Channel, 10, null, appended.Last).Within();

        foreach (var read in new[] { history.Entries, resumed.Entries, recent })
        {
            Assert.Equal(2, read.Count);
            var (first, second) = (read[0].Message, read[1].Message);
            Assert.Equal((appended.Serials[0], "conn:3:0", "token", "hé", "utf-8", "ada", "conn"), (first.Serial, first.Id, first.Name, first.Data.Text, first.Encoding, first.ClientId, first.ConnectionId));
            Assert.Equal(Start.ToUnixTimeMilliseconds(), first.Timestamp);
            Assert.Equal(0, first.Action);
            Assert.Equal("""{"headers":{"responseId":"r1"}}""", first.Extras?.ToString());
            Assert.Equal(appended.Serials[1], second.Serial);
            Assert.Equal(new byte[] { 0, 255 }, second.Data.Bytes);
            Assert.Equal((1L, 2L), (read[0].Offset, read[1].Offset));
        }
    }

    [Fact]
    public async Task Timestamps_never_decrease_and_follow_the_clock()
    {
        await Append(Channel, "a");
        Time.Advance(TimeSpan.FromSeconds(3));
        await Append(Channel, "b");

        var all = await ReadAll(Channel);

        Assert.Equal([Start.ToUnixTimeMilliseconds(), Start.AddSeconds(3).ToUnixTimeMilliseconds()], all.Select(e => e.Message.Timestamp!.Value));
    }

    [Fact]
    public async Task Channels_have_independent_offsets()
    {
        await Append(new ChannelKey("app", "one"), "a", "b", "c");

        var other = await Append(new ChannelKey("app", "two"), "x");

        Assert.Equal(1, other.Appended[0].Offset);
        Assert.Equal(3, (await Log.GetHeadAsync(new ChannelKey("app", "one")).Within()).Offset);
        Assert.Equal(0, (await Log.GetHeadAsync(new ChannelKey("app", "three")).Within()).Offset);
    }

    [Fact]
    public async Task Append_of_a_seen_id_returns_the_original_serial_and_appends_nothing()
    {
        var first = await Append(Channel, WithId("m1", "first"), WithId("m2", "second"));

        var again = await Append(Channel, WithId("m2", "retransmitted"), WithId("m3", "new"), WithId("m1", "retransmitted"));

        Assert.Equal([first.Serials[1], again.Appended[0].Message.Serial!, first.Serials[0]], again.Serials);
        Assert.Equal(["new"], again.Appended.Select(e => e.Message.Name));
        Assert.Equal(3, again.Appended[0].Offset);
        Assert.Equal(["first", "second", "new"], (await ReadAll(Channel)).Select(e => e.Message.Name));
    }

    [Fact]
    public async Task Repeated_id_within_one_batch_is_stored_once()
    {
        var result = await Append(Channel, WithId("dup", "a"), WithId("dup", "b"));

        Assert.Single(result.Appended);
        Assert.Equal(result.Serials[0], result.Serials[1]);
    }

    [Fact]
    public async Task Fully_duplicate_append_appends_nothing_and_keeps_the_head()
    {
        var first = await Append(Channel, WithId("only", "a"));

        var again = await Append(Channel, WithId("only", "a"));

        Assert.Empty(again.Appended);
        Assert.Equal(first.Serials, again.Serials);
        Assert.Equal(1, (await Log.GetHeadAsync(Channel).Within()).Offset);
    }

    [Fact]
    public async Task Id_is_appended_again_once_the_idempotency_window_has_passed()
    {
        await Append(Channel, WithId("m1", "first"));
        Time.Advance(Retention.IdempotencyWindow + TimeSpan.FromMilliseconds(1));

        var again = await Append(Channel, WithId("m1", "later"));

        Assert.Single(again.Appended);
        Assert.Equal(2, again.Appended[0].Offset);
    }

    [Fact]
    public async Task Messages_without_ids_are_never_deduplicated()
    {
        var result = await Append(Channel, "same", "same");

        Assert.Equal(2, result.Appended.Count);
    }

    [Fact]
    public async Task An_append_after_a_message_not_in_the_log_stores_nothing_and_is_refused_as_out_of_order()
    {
        await Append(Channel, WithId("conn:1:0", "first"));

        var refused = await Assert.ThrowsAsync<AppendOutOfOrderException>(() => Log.AppendAsync(Channel, [WithId("conn:3:0", "third")], Retention, after: "conn:2:0").AsTask().Within());

        Assert.Equal("conn:2:0", refused.AfterId);
        Assert.Equal(["first"], (await ReadAll(Channel)).Select(e => e.Message.Name));
    }

    [Fact]
    public async Task An_append_after_a_stored_message_is_appended_and_a_repeat_of_it_is_still_deduplicated()
    {
        await Append(Channel, WithId("conn:1:0", "first"));

        var second = await Log.AppendAsync(Channel, [WithId("conn:2:0", "second")], Retention, after: "conn:1:0").Within();
        var again = await Log.AppendAsync(Channel, [WithId("conn:2:0", "second")], Retention, after: "conn:1:0").Within();

        Assert.Single(second.Appended);
        Assert.Empty(again.Appended);
        Assert.Equal(second.Serials, again.Serials);
        Assert.Equal(["first", "second"], (await ReadAll(Channel)).Select(e => e.Message.Name));
    }

    [Fact]
    public async Task ReadAfter_returns_what_follows_a_position_continuously()
    {
        var appended = await Append(Channel, Names(1, 10));
        var epoch = appended.Epoch;

        var fromStart = await Log.ReadAfterAsync(Channel, new LogPosition(epoch, 0), 100).Within();
        var fromMiddle = await Log.ReadAfterAsync(Channel, new LogPosition(epoch, 4), 3).Within();
        var fromHead = await Log.ReadAfterAsync(Channel, new LogPosition(epoch, 10), 100).Within();

        Assert.True(fromStart.Continuous);
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), fromStart.Entries.Select(e => e.Offset));
        Assert.True(fromMiddle.Continuous);
        Assert.Equal([5L, 6L, 7L], fromMiddle.Entries.Select(e => e.Offset));
        Assert.True(fromHead.Continuous);
        Assert.Empty(fromHead.Entries);
        Assert.All([fromStart, fromMiddle, fromHead], r => Assert.Equal((epoch, 10L), (r.Epoch, r.HeadOffset)));
    }

    [Fact]
    public async Task ReadAfter_a_position_of_another_epoch_is_discontinuous()
    {
        var appended = await Append(Channel, "a", "b");
        var older = LogPosition.NewEpoch(Start.AddDays(-1));
        var newer = LogPosition.NewEpoch(Start.AddDays(1));

        var fromOlder = await Log.ReadAfterAsync(Channel, new LogPosition(older, 1), 100).Within();
        var fromNewer = await Log.ReadAfterAsync(Channel, new LogPosition(newer, 0), 100).Within();

        Assert.False(fromOlder.Continuous);
        Assert.Empty(fromOlder.Entries);
        Assert.False(fromNewer.Continuous);
        Assert.Empty(fromNewer.Entries);
        Assert.Equal(appended.Epoch, fromOlder.Epoch);
        Assert.Equal(2, fromOlder.HeadOffset);
    }

    [Fact]
    public async Task ReadAfter_a_position_beyond_the_head_is_discontinuous()
    {
        var appended = await Append(Channel, "a", "b");

        var read = await Log.ReadAfterAsync(Channel, new LogPosition(appended.Epoch, 5), 100).Within();

        Assert.False(read.Continuous);
        Assert.Empty(read.Entries);
    }

    [Fact]
    public async Task ReadAfter_a_position_whose_successors_were_trimmed_is_discontinuous()
    {
        var retention = Retention with { MaxMessages = 5 };
        var appended = await Append(Channel, retention, Names(1, 12));
        var epoch = appended.Epoch;

        var trimmed = await Log.ReadAfterAsync(Channel, new LogPosition(epoch, 2), 100).Within();
        var justBeforeRetained = await Log.ReadAfterAsync(Channel, new LogPosition(epoch, 7), 100).Within();

        Assert.False(trimmed.Continuous);
        Assert.Equal([8L, 9L, 10L, 11L, 12L], trimmed.Entries.Select(e => e.Offset));
        Assert.True(justBeforeRetained.Continuous);
        Assert.Equal([8L, 9L, 10L, 11L, 12L], justBeforeRetained.Entries.Select(e => e.Offset));
    }

    [Fact]
    public async Task A_channel_forgotten_when_idle_comes_back_with_a_later_epoch()
    {
        var retention = Retention with { MaxAge = TimeSpan.FromMinutes(1) };
        var old = await Append(Channel, retention, "a");
        var oldPosition = old.Last;

        Time.Advance(TimeSpan.FromMinutes(10)); // past MaxAge, the idempotency window and forgetIdleAfter
        Sweep();
        var reborn = await Append(Channel, retention, "b");

        Assert.True(string.CompareOrdinal(reborn.Epoch, old.Epoch) > 0);
        Assert.Equal(1, reborn.Appended[0].Offset);
        Assert.True(string.CompareOrdinal(reborn.Appended[0].Message.Serial, old.Appended[0].Message.Serial) > 0);
        var read = await Log.ReadAfterAsync(Channel, oldPosition, 100).Within();
        Assert.False(read.Continuous);
        Assert.Empty(read.Entries);
    }

    [Fact]
    public async Task A_channel_first_seen_by_a_read_keeps_its_epoch_until_idle_for_forget_idle_after()
    {
        // An attach reads the head of a channel nobody has published to: the epoch it hands out must still be the
        // channel's when the first publish comes, unless the channel then sat idle for the whole forget period.
        var attached = await Log.GetHeadAsync(Channel).Within();

        Time.Advance(ForgetIdleAfter - TimeSpan.FromSeconds(1));
        Sweep();
        var first = await Append(Channel, "a");

        Assert.Equal(attached.Epoch, first.Epoch);
        Assert.Equal(1, first.Appended[0].Offset);
        var read = await Log.ReadAfterAsync(Channel, attached, 100).Within();
        Assert.True(read.Continuous);
        Assert.Single(read.Entries);
    }

    [Fact]
    public async Task Sweep_keeps_an_idle_channel_while_it_still_has_history()
    {
        var appended = await Append(Channel, "a");
        Time.Advance(TimeSpan.FromMinutes(30));

        Sweep();

        Assert.Equal(appended.Last, await Log.GetHeadAsync(Channel).Within());
        Assert.Single(await ReadAll(Channel));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 4)]
    [InlineData(true, 23)]
    [InlineData(true, 24)]
    [InlineData(true, 100)]
    [InlineData(false, 1)]
    [InlineData(false, 4)]
    [InlineData(false, 23)]
    [InlineData(false, 24)]
    [InlineData(false, 100)]
    public async Task History_pages_through_every_message_once_in_order(bool forwards, int limit)
    {
        const int total = 23;
        await Append(Channel, Names(1, total));

        var pages = await AllPages(Channel, new HistoryQuery(null, null, forwards, limit, null, null));

        var expected = Enumerable.Range(1, total).Select(i => (long)i);
        Assert.Equal(forwards ? expected : expected.Reverse(), pages.SelectMany(p => p).Select(e => e.Offset));
        Assert.Equal((total + limit - 1) / limit, pages.Count);
        Assert.All(pages.SkipLast(1), p => Assert.Equal(limit, p.Count));
    }

    [Fact]
    public async Task History_continues_from_its_cursor_while_new_messages_arrive()
    {
        await Append(Channel, Names(1, 10));
        var query = new HistoryQuery(null, null, Forwards: false, Limit: 4, null, null);
        var first = await Log.ReadHistoryAsync(Channel, query).Within();

        await Append(Channel, Names(11, 5)); // newer than the first page: not part of this backwards walk
        var rest = await AllPages(Channel, query with { Cursor = first.Next });

        Assert.Equal([10L, 9L, 8L, 7L], first.Entries.Select(e => e.Offset));
        Assert.Equal([6L, 5L, 4L, 3L, 2L, 1L], rest.SelectMany(p => p).Select(e => e.Offset));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task History_until_a_serial_returns_only_messages_at_or_before_it(bool forwards)
    {
        var appended = await Append(Channel, Names(1, 20));
        var until = new LogPosition(appended.Epoch, 12);

        var pages = await AllPages(Channel, new HistoryQuery(null, null, forwards, 5, until, null));

        var expected = Enumerable.Range(1, 12).Select(i => (long)i);
        Assert.Equal(forwards ? expected : expected.Reverse(), pages.SelectMany(p => p).Select(e => e.Offset));
    }

    [Fact]
    public async Task History_until_a_serial_of_an_older_epoch_is_empty_and_of_a_newer_epoch_is_unbounded()
    {
        await Append(Channel, Names(1, 3));

        var older = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 100, new LogPosition(LogPosition.NewEpoch(Start.AddDays(-1)), 99), null)).Within();
        var newer = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 100, new LogPosition(LogPosition.NewEpoch(Start.AddDays(1)), 0), null)).Within();

        Assert.Empty(older.Entries);
        Assert.Null(older.Next);
        Assert.Equal(3, newer.Entries.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task History_start_and_end_are_inclusive_time_bounds(bool forwards)
    {
        // One message per second: message i is at Start + i seconds.
        for (var i = 0; i < 10; i++)
        {
            await Append(Channel, $"m{i}");
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var start = Start.AddSeconds(3).ToUnixTimeMilliseconds();
        var end = Start.AddSeconds(7).ToUnixTimeMilliseconds();

        var pages = await AllPages(Channel, new HistoryQuery(start, end, forwards, 2, null, null));

        string[] expected = ["m3", "m4", "m5", "m6", "m7"];
        Assert.Equal(forwards ? expected : expected.Reverse(), pages.SelectMany(p => p).Select(e => e.Message.Name));
    }

    [Fact]
    public async Task History_time_bounds_between_messages_select_nothing()
    {
        await Append(Channel, "early");
        Time.Advance(TimeSpan.FromSeconds(10));
        await Append(Channel, "late");

        var between = Start.AddSeconds(5).ToUnixTimeMilliseconds();
        var page = await Log.ReadHistoryAsync(Channel, new HistoryQuery(between, between + 1000, false, 100, null, null)).Within();

        Assert.Empty(page.Entries);
        Assert.Null(page.Next);
    }

    [Fact]
    public async Task History_combines_time_bounds_with_until()
    {
        for (var i = 0; i < 10; i++)
        {
            await Append(Channel, $"m{i}");
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var head = await Log.GetHeadAsync(Channel).Within();
        var query = new HistoryQuery(Start.AddSeconds(2).ToUnixTimeMilliseconds(), null, true, 100, head.WithOffset(6), null);

        var page = await Log.ReadHistoryAsync(Channel, query).Within();

        Assert.Equal(["m2", "m3", "m4", "m5"], page.Entries.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task History_with_end_at_the_largest_time_includes_every_message()
    {
        await Append(Channel, "a", "b");

        var page = await Log.ReadHistoryAsync(Channel, new HistoryQuery(0, long.MaxValue, true, 100, null, null)).Within();

        Assert.Equal(["a", "b"], page.Entries.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task History_with_end_far_in_the_future_includes_every_message()
    {
        await Append(Channel, "a", "b");

        var page = await Log.ReadHistoryAsync(Channel, new HistoryQuery(0, 9007199254740991, true, 100, null, null)).Within();

        Assert.Equal(["a", "b"], page.Entries.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task History_of_an_unknown_channel_or_with_a_cursor_of_another_epoch_is_empty()
    {
        await Append(Channel, "a");

        var unknown = await Log.ReadHistoryAsync(new ChannelKey("app", "nothing"), new HistoryQuery(null, null, false, 100, null, null)).Within();
        var foreignCursor = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 100, null, new LogPosition("1", 1))).Within();

        Assert.Empty(unknown.Entries);
        Assert.Null(unknown.Next);
        Assert.Empty(foreignCursor.Entries);
    }

    [Fact]
    public async Task Retention_keeps_only_the_newest_max_messages()
    {
        var retention = Retention with { MaxMessages = 10 };
        for (var i = 1; i <= 25; i += 5)
        {
            await Append(Channel, retention, Names(i, 5));
        }

        var history = await AllPages(Channel, new HistoryQuery(null, null, true, 3, null, null));

        Assert.Equal(Enumerable.Range(16, 10).Select(i => (long)i), history.SelectMany(p => p).Select(e => e.Offset));
        Assert.Equal(25, (await Log.GetHeadAsync(Channel).Within()).Offset);
    }

    [Fact]
    public async Task Retention_drops_messages_older_than_max_age()
    {
        var retention = Retention with { MaxAge = TimeSpan.FromMinutes(1) };
        await Append(Channel, retention, "old");
        Time.Advance(TimeSpan.FromSeconds(45));
        await Append(Channel, retention, "recent");
        Time.Advance(TimeSpan.FromSeconds(30));

        Sweep();

        Assert.Equal(["recent"], (await ReadAll(Channel)).Select(e => e.Message.Name));
    }

    [Fact]
    public async Task ReadRecent_returns_the_last_messages_by_count_up_to_a_position()
    {
        var appended = await Append(Channel, Names(1, 10));
        var head = appended.Last;

        var last3 = await Log.ReadRecentAsync(Channel, 3, null, head).Within();
        var moreThanThere = await Log.ReadRecentAsync(Channel, 50, null, head).Within();
        var upTo6 = await Log.ReadRecentAsync(Channel, 2, null, head.WithOffset(6)).Within();
        var none = await Log.ReadRecentAsync(Channel, 0, null, head).Within();

        Assert.Equal([8L, 9L, 10L], last3.Select(e => e.Offset));
        Assert.Equal(10, moreThanThere.Count);
        Assert.Equal([5L, 6L], upTo6.Select(e => e.Offset));
        Assert.Empty(none);
    }

    [Fact]
    public async Task ReadRecent_by_age_returns_messages_at_or_after_the_time()
    {
        for (var i = 0; i < 5; i++)
        {
            await Append(Channel, $"m{i}");
            Time.Advance(TimeSpan.FromSeconds(1));
        }

        var head = await Log.GetHeadAsync(Channel).Within();

        var recent = await Log.ReadRecentAsync(Channel, null, Start.AddSeconds(3).ToUnixTimeMilliseconds(), head).Within();
        var both = await Log.ReadRecentAsync(Channel, 1, Start.AddSeconds(1).ToUnixTimeMilliseconds(), head).Within();

        Assert.Equal(["m3", "m4"], recent.Select(e => e.Message.Name));
        Assert.Equal(["m4"], both.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task ReadRecent_up_to_a_position_of_another_epoch_is_empty()
    {
        await Append(Channel, "a");

        var read = await Log.ReadRecentAsync(Channel, 10, null, new LogPosition("1", 1)).Within();

        Assert.Empty(read);
    }

    private Task<AppendResult> Append(ChannelKey channel, params string[] names) => Append(channel, Retention, names);

    private Task<AppendResult> Append(ChannelKey channel, ChannelRetention retention, params string[] names) =>
        Append(channel, retention, names.Select(n => new Message { Name = n, Data = MessageData.FromText(n) }).ToArray());

    private Task<AppendResult> Append(ChannelKey channel, params Message[] messages) => Append(channel, Retention, messages);

    private Task<AppendResult> Append(ChannelKey channel, ChannelRetention retention, params Message[] messages) =>
        Log.AppendAsync(channel, messages, retention).Within();

    private static Message WithId(string id, string name) => new() { Id = id, Name = name };

    private static string[] Names(int first, int count) => [.. Enumerable.Range(first, count).Select(i => $"m{i}")];

    private async Task<IReadOnlyList<LogEntry>> ReadAll(ChannelKey channel) =>
        (await AllPages(channel, new HistoryQuery(null, null, true, 1000, null, null))).SelectMany(p => p).ToList();

    /// <summary>Follows <see cref="HistoryPage.Next"/> until there is none; bounded so a cursor loop fails the test.</summary>
    private async Task<List<IReadOnlyList<LogEntry>>> AllPages(ChannelKey channel, HistoryQuery query)
    {
        var pages = new List<IReadOnlyList<LogEntry>>();
        while (true)
        {
            var page = await Log.ReadHistoryAsync(channel, query).Within();
            if (page.Entries.Count > 0)
            {
                pages.Add(page.Entries);
            }

            if (page.Next is not { } next)
            {
                return pages;
            }

            Assert.NotEmpty(page.Entries);
            Assert.True(pages.Count < 10_000, "history paging does not end");
            query = query with { Cursor = next };
        }
    }
}
