using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IMessageLog"/> contract for updates, deletes and appends (mutable channels), run against every
/// engine: versions are log entries of their own, replayed live by ReadAfter, folded into their original by
/// history, rewind and ReadMessage.
/// </summary>
public abstract class MutableMessageLogConformance : IAsyncLifetime
{
    protected static readonly ChannelKey Channel = new("app", "mutable:chan");
    protected static readonly DateTimeOffset Start = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    protected static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 10_000, TimeSpan.FromMinutes(2), Mutable: true);

    private IMessageLog? _log;

    protected FakeTimeProvider Time { get; } = new(Start);

    protected IMessageLog Log => _log ??= CreateLog(Time, TimeSpan.FromMinutes(5));

    protected abstract IMessageLog CreateLog(TimeProvider time, TimeSpan forgetIdleAfter);

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        (_log as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Appends_are_live_fragments_and_one_concatenated_message_in_history()
    {
        var original = await Create(new Message { Name = "response", Data = MessageData.FromText("Hello"), ClientId = "agent" });
        var fragments = new List<LogEntry>();
        for (var i = 0; i < 50; i++)
        {
            var result = await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText($" t{i}") });
            fragments.AddRange(result.Appended);
        }

        // Live form, as Ably sends it: same serial and create time as the original, the fragment only, the name, a
        // version serial (and timestamp) after it.
        Assert.All(fragments, f =>
        {
            Assert.Equal(original.Message.Serial, f.Message.Serial);
            Assert.Equal(original.Message.Timestamp, f.Message.Timestamp);
            Assert.Equal(MessageActions.Append, f.Message.Action);
            Assert.Equal("response", f.Message.Name);
            Assert.Equal("agent", f.Message.ClientId);
            Assert.Equal(original.Offset, f.VersionOf);
        });
        Assert.Equal(" t7", fragments[7].Message.Data.Text);
        var versionSerials = fragments.Select(f => VersionSerial(f.Message)).ToList();
        Assert.Equal(versionSerials, versionSerials.Order(StringComparer.Ordinal));
        Assert.True(string.CompareOrdinal(versionSerials[0], original.Message.Serial) > 0);

        var whole = "Hello" + string.Concat(Enumerable.Range(0, 50).Select(i => $" t{i}"));
        var history = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 100, null, null)).Within();
        var only = Assert.Single(history.Entries);
        Assert.Equal(original.Message.Serial, only.Message.Serial);
        Assert.Equal(whole, only.Message.Data.Text);
        Assert.Equal(MessageActions.Update, only.Message.Action);
        Assert.Equal(versionSerials[^1], VersionSerial(only.Message));

        var read = await Log.ReadMessageAsync(Channel, Position(original)).Within();
        Assert.NotNull(read);
        Assert.Equal(50, read.Versions.Count);
        Assert.Equal(whole, read.Latest().Data.Text);

        // Resume semantics: every entry after the original, fragments included, in order.
        var after = await Log.ReadAfterAsync(Channel, Position(original), 1000).Within();
        Assert.Equal(fragments.Select(f => f.Offset), after.Entries.Select(e => e.Offset));
        Assert.Equal(fragments.Select(f => f.Message.Data.Text), after.Entries.Select(e => e.Message.Data.Text));
        Assert.Equal(versionSerials, after.Entries.Select(e => VersionSerial(e.Message)));
    }

    [Fact]
    public async Task History_shows_each_original_once_in_order_folded_up_to_the_until_bound()
    {
        var a = await Create(new Message { Name = "a", Data = MessageData.FromText("A") });
        var b = await Create(new Message { Name = "b", Data = MessageData.FromText("B") });
        await Mutate(a, MessageActions.Append, new Message { Data = MessageData.FromText("1") });
        var c = await Create(new Message { Name = "c", Data = MessageData.FromText("C") });
        var seam = await Log.GetHeadAsync(Channel).Within();
        await Mutate(a, MessageActions.Append, new Message { Data = MessageData.FromText("2") });
        await Mutate(b, MessageActions.Update, new Message { Data = MessageData.FromText("B'") });

        var backwards = await AllPages(new HistoryQuery(null, null, false, 2, null, null));
        Assert.Equal(["c", "b", "a"], backwards.Select(e => e.Message.Name));
        Assert.Equal(["C", "B'", "A12"], backwards.Select(e => e.Message.Data.Text));

        var forwards = await AllPages(new HistoryQuery(null, null, true, 1, null, null));
        Assert.Equal(["A12", "B'", "C"], forwards.Select(e => e.Message.Data.Text));

        // untilAttach: what was there at the attach point, no later version folded in.
        var untilSeam = await AllPages(new HistoryQuery(null, null, false, 100, seam, null));
        Assert.Equal(["C", "B", "A1"], untilSeam.Select(e => e.Message.Data.Text));
        Assert.Equal(MessageActions.Create, untilSeam[1].Message.Action);

        var rewind = await Log.ReadRecentAsync(Channel, 2, null, await Log.GetHeadAsync(Channel).Within()).Within();
        Assert.Equal(["B'", "C"], rewind.Select(e => e.Message.Data.Text));
        _ = c;
    }

    [Fact]
    public async Task History_read_while_a_message_is_streamed_to_folds_every_version_once_in_order()
    {
        var original = await Create(new Message { Name = "response", Data = MessageData.FromText("0"), ClientId = "agent" });
        var expected = "0";
        var seams = new List<(LogPosition Seam, string Text)>();
        for (var i = 1; i <= 30; i++)
        {
            if (i == 12)
            {
                // An update with data replaces what came before; appends then extend it.
                await Mutate(original, MessageActions.Update, new Message { Data = MessageData.FromText("U") });
                expected = "U";
            }

            await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText($",{i}") });
            expected += $",{i}";
            seams.Add((await Log.GetHeadAsync(Channel).Within(), expected));
            if (i % 3 == 0)
            {
                // Reads between appends, as a reader loading the page mid-stream does.
                var latest = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 10, null, null)).Within();
                Assert.Equal(expected, Assert.Single(latest.Entries).Message.Data.Text);
            }
        }

        // Earlier bounds (untilAttach of readers who attached mid-stream), read after the latest was folded.
        foreach (var (seam, text) in seams)
        {
            var page = await Log.ReadHistoryAsync(Channel, new HistoryQuery(null, null, false, 10, seam, null)).Within();
            Assert.Equal(text, Assert.Single(page.Entries).Message.Data.Text);
        }

        var read = await Log.ReadMessageAsync(Channel, Position(original)).Within();
        Assert.Equal(expected, read!.Latest().Data.Text);
        Assert.Equal(31, read.Versions.Count);
    }

    [Fact]
    public async Task Update_patches_name_data_and_extras_and_delete_is_the_latest_action()
    {
        var original = await Create(new Message { Name = "n", Data = MessageData.FromText("{\"v\":1}"), Encoding = "json", Extras = JsonPayload.Parse("{\"headers\":{\"a\":\"1\"}}") });
        var update = await Mutate(original, MessageActions.Update, new Message { Data = MessageData.FromText("{\"v\":2}"), Encoding = "json" });
        var live = Assert.Single(update.Appended).Message;
        Assert.Equal("n", live.Name);
        Assert.Equal("{\"headers\":{\"a\":\"1\"}}", live.Extras!.ToString());

        await Mutate(original, MessageActions.Update, new Message { Name = "renamed" });
        var latest = (await Log.ReadMessageAsync(Channel, Position(original)).Within())!.Latest();
        Assert.Equal("renamed", latest.Name);
        Assert.Equal("{\"v\":2}", latest.Data.Text);
        Assert.Equal("json", latest.Encoding);
        Assert.Equal(MessageActions.Update, latest.Action);

        await Mutate(original, MessageActions.Delete, new Message { Data = MessageData.FromText("{}"), Encoding = "json" });
        latest = (await Log.ReadMessageAsync(Channel, Position(original)).Within())!.Latest();
        Assert.Equal(MessageActions.Delete, latest.Action);
        Assert.Equal("{}", latest.Data.Text);
        Assert.Equal("renamed", latest.Name);
        Assert.Equal(original.Message.Timestamp, latest.Timestamp);
    }

    [Fact]
    public async Task Version_carries_serial_timestamp_and_the_operation_fields()
    {
        var original = await Create(new Message { Data = MessageData.FromText("x") });
        var result = await Mutate(original, MessageActions.Update, new Message
        {
            Data = MessageData.FromText("y"),
            Version = JsonPayload.Parse("{\"clientId\":\"editor\",\"description\":\"fix\",\"metadata\":{\"reason\":\"typo\"}}"),
        });
        var version = Assert.Single(result.Appended).Message.Version!.ToElement();
        Assert.Equal(result.Serials[0], version.GetProperty("serial").GetString());
        Assert.True(version.GetProperty("timestamp").GetInt64() > original.Message.Timestamp);
        Assert.Equal("editor", version.GetProperty("clientId").GetString());
        Assert.Equal("typo", version.GetProperty("metadata").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Appends_to_non_text_data_are_refused_with_40013()
    {
        var json = await Create(new Message { Data = MessageData.FromText("{}"), Encoding = "json" });
        var binary = await Create(new Message { Data = MessageData.FromBytes([1, 2, 3]) });
        var empty = await Create(new Message { Name = "empty" });
        Assert.Equal(ErrorCodes.InvalidMessageData, (await Refused(json, MessageActions.Append, " x")).Error.Code);
        Assert.Equal(ErrorCodes.InvalidMessageData, (await Refused(binary, MessageActions.Append, " x")).Error.Code);

        // No data yet is an empty string to append to; an update to text makes a binary message appendable.
        await Mutate(empty, MessageActions.Append, new Message { Data = MessageData.FromText("a") });
        await Mutate(binary, MessageActions.Update, new Message { Data = MessageData.FromText("b") });
        await Mutate(binary, MessageActions.Append, new Message { Data = MessageData.FromText("c") });
        Assert.Equal("a", (await Log.ReadMessageAsync(Channel, Position(empty)).Within())!.Latest().Data.Text);
        Assert.Equal("bc", (await Log.ReadMessageAsync(Channel, Position(binary)).Within())!.Latest().Data.Text);
    }

    [Fact]
    public async Task Contains_names_original_messages_only()
    {
        var original = await Create(new Message { Data = MessageData.FromText("x") });
        var version = Assert.Single((await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("y") })).Appended);
        var head = await Log.GetHeadAsync(Channel).Within();
        Assert.True(await Log.ContainsMessageAsync(Channel, Position(original)).Within());
        Assert.False(await Log.ContainsMessageAsync(Channel, head.WithOffset(version.Offset)).Within());
        Assert.False(await Log.ContainsMessageAsync(Channel, head.WithOffset(99)).Within());
        Assert.False(await Log.ContainsMessageAsync(Channel, head.WithOffset(0)).Within());
        Assert.False(await Log.ContainsMessageAsync(Channel, new LogPosition("00000000000001", original.Offset)).Within());
        Assert.False(await Log.ContainsMessageAsync(new ChannelKey("app", "mutable:other"), Position(original)).Within());
    }

    [Fact]
    public async Task Unknown_serials_and_versions_are_not_found()
    {
        var original = await Create(new Message { Data = MessageData.FromText("x") });
        var version = Assert.Single((await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("y") })).Appended);
        var head = await Log.GetHeadAsync(Channel).Within();
        Assert.Null(await Log.ReadMessageAsync(Channel, head.WithOffset(99)).Within());
        Assert.Null(await Log.ReadMessageAsync(Channel, head.WithOffset(version.Offset)).Within());
        Assert.Null(await Log.ReadMessageAsync(Channel, new LogPosition("00000000000001", original.Offset)).Within());

        var missing = await Assert.ThrowsAsync<ProtocolException>(() => Log.AppendMutationAsync(Channel, new MessageMutation(head.Epoch, 99, Op(MessageActions.Update, "z"), null, true), Retention).Within());
        Assert.Equal(ErrorCodes.NotFound, missing.Error.Code);
        var ofVersion = await Assert.ThrowsAsync<ProtocolException>(() => Log.AppendMutationAsync(Channel, new MessageMutation(head.Epoch, version.Offset, Op(MessageActions.Update, "z"), null, true), Retention).Within());
        Assert.Equal(ErrorCodes.NotFound, ofVersion.Error.Code);
    }

    [Fact]
    public async Task Own_rights_only_change_messages_of_the_same_client()
    {
        var alices = await Create(new Message { Data = MessageData.FromText("a"), ClientId = "alice" });
        var anonymous = await Create(new Message { Data = MessageData.FromText("n") });
        var head = await Log.GetHeadAsync(Channel).Within();
        await Log.AppendMutationAsync(Channel, new MessageMutation(head.Epoch, alices.Offset, Op(MessageActions.Append, "!"), "alice", false), Retention).Within();
        var bob = await Assert.ThrowsAsync<ProtocolException>(() => Log.AppendMutationAsync(Channel, new MessageMutation(head.Epoch, alices.Offset, Op(MessageActions.Append, "?"), "bob", false), Retention).Within());
        Assert.Equal(ErrorCodes.OperationNotPermitted, bob.Error.Code);
        var nobody = await Assert.ThrowsAsync<ProtocolException>(() => Log.AppendMutationAsync(Channel, new MessageMutation(head.Epoch, anonymous.Offset, Op(MessageActions.Delete, "?"), null, false), Retention).Within());
        Assert.Equal(ErrorCodes.OperationNotPermitted, nobody.Error.Code);
    }

    [Fact]
    public async Task A_repeated_operation_id_is_applied_once()
    {
        var original = await Create(new Message { Data = MessageData.FromText("x") });
        var first = await Mutate(original, MessageActions.Append, new Message { Id = "conn:5:0", Data = MessageData.FromText("y") });
        var again = await Mutate(original, MessageActions.Append, new Message { Id = "conn:5:0", Data = MessageData.FromText("y") });
        Assert.Empty(again.Appended);
        Assert.Equal(first.Serials, again.Serials);
        Assert.Equal("xy", (await Log.ReadMessageAsync(Channel, Position(original)).Within())!.Latest().Data.Text);
    }

    [Fact]
    public async Task An_operation_after_a_message_not_in_the_log_is_refused_as_out_of_order_and_not_folded()
    {
        var original = await Create(new Message { Id = "conn:1:0", Data = MessageData.FromText("x") });
        var at = Position(original);
        var operation = new Message { Id = "conn:3:0", Action = MessageActions.Append, Data = MessageData.FromText("z") };

        await Assert.ThrowsAsync<AppendOutOfOrderException>(() => Log.AppendMutationAsync(Channel, new MessageMutation(at.Epoch, at.Offset, operation, null, true), Retention, after: "conn:2:0").AsTask().Within());
        Assert.Equal("x", (await Log.ReadMessageAsync(Channel, at).Within())!.Latest().Data.Text);

        var appended = await Log.AppendMutationAsync(Channel, new MessageMutation(at.Epoch, at.Offset, operation, null, true), Retention, after: "conn:1:0").Within();
        Assert.Single(appended.Appended);
        Assert.Equal("xz", (await Log.ReadMessageAsync(Channel, at).Within())!.Latest().Data.Text);
    }

    [Fact]
    public async Task An_append_that_would_make_the_message_too_large_is_refused_and_not_folded()
    {
        var original = await Create(new Message { Data = MessageData.FromText("12345") });
        await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("678") }, maxMessageSize: 10);

        var refused = await Assert.ThrowsAsync<ProtocolException>(() => Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("abc") }, maxMessageSize: 10));
        Assert.Equal(ErrorCodes.MessageTooLarge, refused.Error.Code);
        Assert.Equal("12345678", (await Log.ReadMessageAsync(Channel, Position(original)).Within())!.Latest().Data.Text);

        // What fits still goes in; an update's data replaces the size, so appends fit again after it.
        await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("9é") }, maxMessageSize: 11);
        await Mutate(original, MessageActions.Update, new Message { Data = MessageData.FromText("x") }, maxMessageSize: 11);
        await Mutate(original, MessageActions.Append, new Message { Data = MessageData.FromText("0123456789") }, maxMessageSize: 11);
        Assert.Equal("x0123456789", (await Log.ReadMessageAsync(Channel, Position(original)).Within())!.Latest().Data.Text);
    }

    private async Task<LogEntry> Create(Message message)
    {
        var result = await Log.AppendAsync(Channel, [message], Retention).Within();
        Time.Advance(TimeSpan.FromMilliseconds(1));
        return Assert.Single(result.Appended);
    }

    private async Task<AppendResult> Mutate(LogEntry original, int action, Message operation, int maxMessageSize = 0)
    {
        operation.Action = action;
        var at = Position(original);
        return await Log.AppendMutationAsync(Channel, new MessageMutation(at.Epoch, at.Offset, operation, null, true, maxMessageSize), Retention).Within();
    }

    private async Task<ProtocolException> Refused(LogEntry original, int action, string text) =>
        await Assert.ThrowsAsync<ProtocolException>(() => Mutate(original, action, new Message { Data = MessageData.FromText(text) }));

    private static Message Op(int action, string text) => new() { Action = action, Data = MessageData.FromText(text) };

    private static LogPosition Position(LogEntry entry) => LogPosition.TryParse(entry.Message.Serial, out var p) ? p : throw new InvalidOperationException();

    private static string VersionSerial(Message message) => message.Version!.ToElement().GetProperty("serial").GetString()!;

    private async Task<List<LogEntry>> AllPages(HistoryQuery query)
    {
        var all = new List<LogEntry>();
        for (var i = 0; i < 100; i++)
        {
            var page = await Log.ReadHistoryAsync(Channel, query).Within();
            all.AddRange(page.Entries);
            if (page.Next is not { } next)
            {
                return all;
            }

            query = query with { Cursor = next };
        }

        throw new InvalidOperationException("history paging did not end");
    }
}
