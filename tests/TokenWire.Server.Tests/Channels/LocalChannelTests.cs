using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Channels;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Channels;

public sealed class LocalChannelTests : IDisposable
{
    private static readonly ChannelKey Key = new("app", "chan");
    private const ProtocolFlags Modes = ProtocolFlags.Subscribe | ProtocolFlags.Publish;
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 9, 0, 0, TimeSpan.Zero);
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 1_000_000, TimeSpan.FromMinutes(2));

    private readonly FakeTimeProvider _time = new(Start);
    private readonly InMemoryMessageLog _log;
    private readonly InMemoryMessageBus _bus = new();

    public LocalChannelTests() => _log = new InMemoryMessageLog(_time, TimeSpan.FromMinutes(5));

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task Channel_starts_at_the_log_head_and_is_named_after_its_key()
    {
        await Publish("conn-p", "before-1", "before-2");

        var channel = await StartChannel();

        Assert.Equal("chan", channel.Name);
        Assert.Equal(Key, channel.Key);
        Assert.Equal(await _log.GetHeadAsync(Key).Within(), channel.Cursor);
    }

    [Fact]
    public async Task Fresh_attach_is_sent_attached_first_then_every_later_message_live()
    {
        var channel = await StartChannel();
        await Publish("conn-p", "old");
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, AttachRequest.Fresh);
        await Publish("conn-p", "new-1", "new-2");
        await Publish("conn-p", "new-3");

        Assert.Equal(1, outcome.AttachPosition.Offset);
        Assert.False(outcome.Resumed);
        Assert.False(outcome.ContinuityLost);
        Assert.False(outcome.HasBacklog);
        await Wait.Eventually("three live messages", () => sink.MessageCount == 3);
        Assert.Equal(ProtocolAction.Attached, sink.Frames[0].Action);
        Assert.Equal(["new-1", "new-2", "new-3"], sink.Messages.Select(m => m.Name));
        Assert.All(sink.Frames.Skip(1), f => Assert.Equal("chan", f.Channel));
        Assert.Equal(sink.Messages[^1].Serial, sink.Frames[^1].ChannelSerial);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Attach_seam_is_exact_under_concurrent_publishing(bool asyncLog)
    {
        var channel = await StartChannel(asyncLog);
        using var stop = new CancellationTokenSource();

        // Two publishers: the bus may then see appends out of log order, so gap filling is exercised as well.
        // They keep going until live traffic has been seen after the attach, so the attach lands mid-stream; they
        // stay within a window of what the channel has delivered, so a slow channel (a loaded box, async reads)
        // paces them instead of letting them run out before the attach.
        var publishers = new[] { "conn-a", "conn-b" }
            .Select(connection => Task.Run(() => PublishUntil(channel, connection, stop.Token)))
            .ToArray();
        var sink = new RecordingSink("conn-s");
        AttachOutcome outcome;
        try
        {
            // The attach point is the channel's cursor, not the log's head: wait for the channel to be past 100.
            await Wait.Eventually("the channel delivering", () => channel.Cursor.Offset >= 100);
            outcome = await Attach(channel, sink, AttachRequest.Fresh);
            await Wait.Eventually("live messages after the attach", () => sink.MessageCount >= 100);
        }
        finally
        {
            await stop.CancelAsync();
        }

        await Task.WhenAll(publishers).Within();

        var all = await ReadLog();
        Assert.InRange(outcome.AttachPosition.Offset, 100, all.Count - 100);
        await Wait.Eventually("every message after the seam delivered", () => sink.MessageCount >= all.Count - outcome.AttachPosition.Offset);
        var history = await History(outcome.AttachPosition);
        var seen = history.Select(m => m.Serial).Concat(sink.Messages.Select(m => m.Serial)).ToList();
        Assert.Equal(all.Select(e => e.Message.Serial), seen);
        Assert.Equal(ProtocolAction.Attached, sink.Frames[0].Action);
    }

    [Fact]
    public async Task Attach_sends_attached_exactly_once_before_any_message_frame()
    {
        var channel = await StartChannel();
        await Publish("conn-p", Names("m", 5));
        var sink = new RecordingSink("conn-s");
        var attachedCalls = 0;

        var outcome = await channel.AttachAsync(
            new ChannelSubscriber(sink, Modes),
            new AttachRequest(null, RewindCount: 2, RewindAge: null),
            o =>
            {
                attachedCalls++;
                sink.Record(new ProtocolMessage(ProtocolAction.Attached) { Channel = channel.Name });
            },
            CancellationToken.None).Within();

        Assert.Equal(1, attachedCalls);
        Assert.True(outcome.HasBacklog);
        Assert.Equal(ProtocolAction.Attached, sink.Frames[0].Action);
        Assert.Equal(["m3", "m4"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Resume_from_a_channel_serial_replays_exactly_the_gap_then_continues_live()
    {
        var channel = await StartChannel();
        var first = new RecordingSink("conn-s");
        var firstSubscriber = new ChannelSubscriber(first, Modes);
        await Attach(channel, firstSubscriber, AttachRequest.Fresh);
        await Publish("conn-p", "m1", "m2", "m3");
        await Wait.Eventually("first transport got m1..m3", () => first.MessageCount == 3);
        var lastSeen = first.Frames[^1].ChannelSerial;
        channel.Detach(firstSubscriber); // the transport drops

        await Publish("conn-p", "m4", "m5");
        await Publish("conn-p", "m6");
        var resumed = new RecordingSink("conn-s");
        Assert.True(LogPosition.TryParse(lastSeen, out var from));
        var outcome = await Attach(channel, resumed, new AttachRequest(from, null, null));
        await Publish("conn-p", "m7");

        Assert.True(outcome.Resumed);
        Assert.False(outcome.ContinuityLost);
        await Wait.Eventually("gap and live delivered", () => resumed.MessageCount == 4);
        Assert.Equal(["m4", "m5", "m6", "m7"], resumed.Messages.Select(m => m.Name));
        Assert.Equal(ProtocolAction.Attached, resumed.Frames[0].Action);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resume_under_concurrent_publishing_delivers_every_later_message_once_in_order(bool asyncLog)
    {
        var channel = await StartChannel(asyncLog);
        await Publish("conn-p", Names("early", 10));
        var from = channel.Cursor.WithOffset(5);
        using var stop = new CancellationTokenSource();

        var publisher = Task.Run(() => PublishUntil(channel, "conn-p", stop.Token));
        var sink = new RecordingSink("conn-s");
        AttachOutcome outcome;
        try
        {
            await Wait.Eventually("publishing under way", () => Head() >= 200);
            outcome = await Attach(channel, sink, new AttachRequest(from, null, null));
            var replayed = outcome.Resumed ? sink.MessageCount : 0;
            await Wait.Eventually("live messages after the resume", () => sink.MessageCount >= replayed + 100);
        }
        finally
        {
            await stop.CancelAsync();
        }

        await publisher.Within();

        var all = await ReadLog();
        Assert.True(outcome.Resumed);
        await Wait.Eventually("everything after the resume point", () => sink.MessageCount >= all.Count - 5);
        Assert.Equal(all.Skip(5).Select(e => e.Message.Serial), sink.Messages.Select(m => m.Serial));
    }

    [Fact]
    public async Task Resume_from_the_current_position_replays_nothing_and_is_resumed()
    {
        var channel = await StartChannel();
        await Publish("conn-p", "m1");
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(channel.Cursor, null, null));
        await Publish("conn-p", "m2");

        Assert.True(outcome.Resumed);
        await Wait.Eventually("live message", () => sink.MessageCount == 1);
        Assert.Equal("m2", sink.Messages[0].Name);
    }

    [Fact]
    public async Task Resume_from_a_serial_of_another_epoch_loses_continuity_and_replays_nothing()
    {
        // The old log incarnation: a client saw m1 and m2 there, then the log was lost and rebuilt.
        AppendResult old;
        using (var lostLog = new InMemoryMessageLog(_time, TimeSpan.FromMinutes(5)))
        {
            old = await lostLog.AppendAsync(Key, [Text("m1"), Text("m2")], Retention).Within();
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        await Publish("conn-p", "n1", "n2", "n3");
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(old.Last, null, null));
        await Publish("conn-p", "n4");

        Assert.False(outcome.Resumed);
        Assert.True(outcome.ContinuityLost);
        Assert.Equal(channel.Cursor.Epoch, outcome.AttachPosition.Epoch);
        Assert.Equal(3, outcome.AttachPosition.Offset);
        await Wait.Eventually("live message", () => sink.MessageCount == 1);
        Assert.Equal(["n4"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Resume_from_a_position_beyond_the_head_loses_continuity()
    {
        var channel = await StartChannel();
        await Publish("conn-p", "m1");
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(channel.Cursor.WithOffset(50), null, null));

        Assert.False(outcome.Resumed);
        Assert.True(outcome.ContinuityLost);
        Assert.Equal(1, outcome.AttachPosition.Offset);
        Assert.Empty(sink.Messages);
    }

    [Fact]
    public async Task Resume_from_a_position_trimmed_from_the_log_loses_continuity_and_replays_nothing()
    {
        var channel = await StartChannel();
        var retention = Retention with { MaxMessages = 3 };
        await Publish("conn-p", retention, Names("m", 10));
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(channel.Cursor.WithOffset(2), null, null));
        await Publish("conn-p", retention, "after");

        Assert.False(outcome.Resumed);
        Assert.True(outcome.ContinuityLost);
        await Wait.Eventually("live message", () => sink.MessageCount == 1);
        Assert.Equal(["after"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Echo_off_subscriber_does_not_receive_its_own_connections_messages()
    {
        var channel = await StartChannel();
        var quiet = new RecordingSink("conn-a", echoMessages: false);
        var echoing = new RecordingSink("conn-a");
        await Attach(channel, quiet, AttachRequest.Fresh);
        await Attach(channel, echoing, AttachRequest.Fresh);

        await Publish("conn-a", "own-1");
        await Publish("conn-b", "other-1");
        await Publish("conn-a", "own-2");
        await Publish(null, "rest-1");

        await Wait.Eventually("echoing subscriber got all four", () => echoing.MessageCount == 4);
        Assert.Equal(["other-1", "rest-1"], quiet.Messages.Select(m => m.Name));
        Assert.Equal(["own-1", "other-1", "own-2", "rest-1"], echoing.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Echo_off_subscriber_does_not_get_its_own_messages_in_a_resume_replay()
    {
        var channel = await StartChannel();
        var from = channel.Cursor;
        await Publish("conn-a", "own");
        await Publish("conn-b", "other");
        var sink = new RecordingSink("conn-a", echoMessages: false);

        var outcome = await Attach(channel, sink, new AttachRequest(from, null, null));

        Assert.True(outcome.Resumed);
        Assert.Equal(["other"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Echo_off_subscriber_does_not_get_its_own_messages_through_a_gap_fill()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-a", echoMessages: false);
        await Attach(channel, sink, AttachRequest.Fresh);
        var own = await Append("conn-a", "own");
        var other = await Append("conn-b", "other");

        await Deliver(other, "conn-b"); // arrives first: 'own' is read from the log to fill the gap

        await Wait.Eventually("other delivered", () => sink.MessageCount >= 1);
        Assert.Equal(["other"], sink.Messages.Select(m => m.Name));
        await Deliver(own, "conn-a");
        Assert.Equal(["other"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Envelopes_out_of_order_are_delivered_in_offset_order_without_duplicates()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var first = await Append("conn-p", "m1");
        var second = await Append("conn-p", "m2");

        await Deliver(second, "conn-p");
        await Deliver(first, "conn-p");

        await Wait.Eventually("both delivered", () => sink.MessageCount >= 2);
        Assert.Equal(["m1", "m2"], sink.Messages.Select(m => m.Name));
        Assert.Equal(2, channel.Cursor.Offset);
    }

    [Fact]
    public async Task Lost_envelope_is_filled_from_the_log()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        await Append("conn-p", "m1", "m2");
        var third = await Append("conn-p", "m3");

        await Deliver(third, "conn-p"); // the envelope for m1 and m2 never arrives

        await Wait.Eventually("gap filled", () => sink.MessageCount >= 3);
        Assert.Equal(["m1", "m2", "m3"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Lost_last_envelope_is_delivered_from_the_log_once_the_bus_goes_quiet()
    {
        var channel = await StartChannel(time: _time);
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var first = await Append("conn-p", "m1");
        await Deliver(first, "conn-p");
        await Wait.Eventually("m1 delivered", () => sink.MessageCount >= 1);
        await Append("conn-p", "m2", "m3"); // the stream's last envelope never arrives, and nothing follows it

        _time.Advance(LocalChannel.TailCheckDelay); // the bus has been quiet: the channel asks the log
        await Wait.Eventually("tail delivered", () => sink.MessageCount >= 3);
        Assert.Equal(3, channel.Cursor.Offset);

        // Another quiet period, then a normal delivery: a repeat of the tail would have been queued before it.
        _time.Advance(LocalChannel.TailCheckDelay);
        await Deliver(await Append("conn-p", "m4"), "conn-p");
        await Wait.Eventually("m4 delivered", () => sink.MessageCount >= 4);
        Assert.Equal(["m1", "m2", "m3", "m4"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Envelopes_lost_while_the_engine_link_was_down_are_delivered_from_the_log_when_it_reports_them()
    {
        var bus = new MissReportingBus(_bus);
        var channel = await StartChannel(bus: bus);
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        await Publish("conn-p", "m1");
        await Append("conn-p", "m2", "m3"); // published while this node's link was down

        bus.ReportMissed();

        await Wait.Eventually("the missed envelopes delivered", () => sink.MessageCount >= 3);
        Assert.Equal(["m1", "m2", "m3"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task A_channel_without_subscribers_catches_its_cursor_up_when_the_engine_reports_lost_envelopes()
    {
        var bus = new MissReportingBus(_bus);
        var channel = await StartChannel(bus: bus);
        await Append("conn-p", "m1", "m2");

        bus.ReportMissed();

        await Wait.Eventually("the cursor reaches the log head", () => channel.Cursor.Offset == 2);
    }

    [Fact]
    public async Task Duplicate_envelopes_are_delivered_once()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var first = await Append("conn-p", "m1");
        var second = await Append("conn-p", "m2");

        await Deliver(first, "conn-p");
        await Deliver(first, "conn-p");
        await Deliver(second, "conn-p");
        await Deliver(first, "conn-p");
        await Deliver(second, "conn-p");

        await channel.Dispatched().Within();
        Assert.Equal(["m1", "m2"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Envelope_overlapping_what_was_delivered_delivers_only_the_new_part()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var batch = await Append("conn-p", "m1", "m2", "m3");

        _bus.Deliver(new BusEnvelope(Key, batch.Epoch, [batch.Appended[0]], "conn-p"));
        await Deliver(batch, "conn-p");

        await channel.Dispatched().Within();
        Assert.Equal(["m1", "m2", "m3"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Envelope_of_an_older_epoch_is_ignored()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var stale = new LogEntry(1, new Message { Name = "stale", Serial = "00000000000001-000000000001" });

        _bus.Deliver(new BusEnvelope(Key, "00000000000001", [stale], "conn-p"));
        await Publish("conn-p", "fresh");

        await Wait.Eventually("fresh delivered", () => sink.MessageCount >= 1);
        Assert.Equal(["fresh"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Detached_subscriber_receives_nothing_more()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        var subscriber = new ChannelSubscriber(sink, Modes);
        await Attach(channel, subscriber, AttachRequest.Fresh);
        await Publish("conn-p", "m1");

        await channel.Dispatched().Within();
        channel.Detach(subscriber);
        await Publish("conn-p", "m2");

        await channel.Dispatched().Within();
        Assert.Equal(["m1"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Attach_without_a_subscriber_reports_the_current_position()
    {
        var channel = await StartChannel();
        await Publish("conn-p", "m1", "m2");
        AttachOutcome? sent = null;

        var outcome = await channel.AttachAsync(null, AttachRequest.Fresh, o => sent = o, CancellationToken.None).Within();

        Assert.Equal(outcome, sent);
        Assert.Equal(channel.Cursor, outcome.AttachPosition);
    }

    [Theory]
    [InlineData("00000000000001", 7)]
    [InlineData("0", -1)]
    public async Task Attach_without_a_subscriber_resuming_from_another_epoch_reports_a_position_in_the_current_epoch(string epoch, long offset)
    {
        var channel = await StartChannel();
        await Publish("conn-p", "m1", "m2");

        var outcome = await channel.AttachAsync(null, new AttachRequest(new LogPosition(epoch, offset), null, null), _ => { }, CancellationToken.None).Within();

        Assert.Equal(channel.Cursor.Epoch, outcome.AttachPosition.Epoch);
        Assert.Equal(2, (await History(outcome.AttachPosition)).Count);
    }

    [Fact]
    public async Task Rewind_by_count_replays_the_last_messages_then_live_with_backlog_flagged()
    {
        var channel = await StartChannel();
        await Publish("conn-p", Names("m", 6));
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(null, RewindCount: 2, RewindAge: null));
        await Publish("conn-p", "live");

        Assert.True(outcome.HasBacklog);
        Assert.False(outcome.Resumed);
        Assert.Equal(6, outcome.AttachPosition.Offset);
        await Wait.Eventually("rewind and live", () => sink.MessageCount == 3);
        Assert.Equal(["m4", "m5", "live"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Rewind_on_an_empty_channel_has_no_backlog()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(null, RewindCount: 5, RewindAge: null));

        Assert.False(outcome.HasBacklog);
        Assert.Empty(sink.Messages);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Envelopes_out_of_order_from_many_publishers_are_delivered_in_offset_order(bool asyncLog)
    {
        var channel = await StartChannel(asyncLog);
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        var appended = new List<AppendResult>();
        for (var i = 0; i < 50; i++)
        {
            appended.Add(await Append("conn-p", $"m{i}"));
        }

        // Reverse order, with every other envelope lost: all 50 must still go out once, in order.
        foreach (var result in appended.AsEnumerable().Reverse().Where((_, i) => i % 2 == 0))
        {
            await Deliver(result, "conn-p");
        }

        await Wait.Eventually("all fifty delivered", () => sink.MessageCount >= 50);
        Assert.Equal(Names("m", 50), sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Lost_envelopes_spanning_several_read_batches_are_filled_in_order()
    {
        const int lost = 2500; // LocalChannel reads the log 1000 entries at a time
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        await Append("conn-p", Names("m", lost));

        await Publish("conn-p", "last");

        await Wait.Eventually("gap filled", () => sink.MessageCount >= lost + 1);
        Assert.Equal([.. Names("m", lost), "last"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Resume_across_a_gap_larger_than_one_read_batch_replays_all_of_it()
    {
        const int missed = 2300;
        var channel = await StartChannel();
        var from = channel.Cursor;
        await Publish("conn-p", Names("m", missed));
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(from, null, null));

        Assert.True(outcome.Resumed);
        Assert.Equal(Names("m", missed), sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task A_resume_replays_in_frames_bounded_in_bytes_written_from_the_stored_messages()
    {
        var channel = await StartChannel();
        var from = channel.Cursor;
        var small = Names("s", 600);
        var large = Names(new string('L', 3_000), 20); // about 6 KB a message: name and data
        await Publish("conn-p", small);
        await Publish("conn-p", large);
        var sink = new RecordingSink("conn-s");

        var outcome = await Attach(channel, sink, new AttachRequest(from, null, null));

        Assert.True(outcome.Resumed);
        Assert.Equal([.. small, .. large], sink.Messages.Select(m => m.Name));
        var frames = sink.Batches;

        // Small messages go many to a frame, large ones few: the bound is in bytes (16 KiB), not in messages, and the
        // first frame is small, so the first messages go out at once.
        Assert.True(frames[0].Messages.Sum(m => m.ApproximateSize) <= 4 * 1024, $"first frame {frames[0].Messages.Sum(m => m.ApproximateSize)} bytes");
        Assert.Contains(frames, f => f.Messages.Length > 100);
        Assert.All(frames, f => Assert.True(f.Messages.Length == 1 || f.Messages.Sum(m => m.ApproximateSize) <= 16 * 1024, $"{f.Messages.Length} messages, {f.Messages.Sum(m => m.ApproximateSize)} bytes"));
        Assert.Contains(frames, f => f.Messages.Length is > 1 and <= 3 && f.Messages[0].Message.Name!.StartsWith('L'));

        // Written from the stored bytes, they are what the codecs write for the messages as the log returns them.
        var read = await _log.ReadAfterAsync(Key, from, small.Length + large.Length);
        var replayed = frames.SelectMany(f => f.Messages).ToArray();
        for (var i = 0; i < replayed.Length; i++)
        {
            foreach (var format in new[] { WireFormat.MessagePack, WireFormat.Json })
            {
                var expected = new System.Buffers.ArrayBufferWriter<byte>();
                ProtocolCodecs.For(format).WriteMessage(read.Entries[i].Message, expected);
                Assert.Equal(expected.WrittenSpan.ToArray(), replayed[i].GetBytes(format).ToArray());
            }
        }
    }

    [Fact]
    public async Task A_resume_queues_ATTACHED_before_it_reads_the_replay_entries()
    {
        const int missed = 1000;
        var log = new ReadCountingMessageLog(_log);
        var channel = new LocalChannel(Key, log, _bus, new InMemoryPresenceStore(), NullLogger.Instance);
        await channel.Ready.Within();
        var from = channel.Cursor;
        await Publish("conn-p", Names("m", missed));
        var sink = new RecordingSink("conn-s");
        var readAtAttached = -1;

        var outcome = await channel.AttachAsync(
            new ChannelSubscriber(sink, Modes),
            new AttachRequest(from, null, null),
            o =>
            {
                readAtAttached = log.EntriesRead;
                sink.Record(new ProtocolMessage(ProtocolAction.Attached) { Channel = channel.Name, ChannelSerial = o.ChannelSerial });
            },
            CancellationToken.None).Within();

        // Continuity needs the read's first and last entries only; the other 998 are read (decoded) while sending.
        Assert.True(outcome.Resumed);
        Assert.InRange(readAtAttached, 0, 2);
        Assert.Equal(ProtocolAction.Attached, sink.Frames[0].Action);
        Assert.Equal(Names("m", missed), sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Gap_fill_after_trimming_delivers_every_message_the_log_still_has()
    {
        var retention = Retention with { MaxMessages = 5 };
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        for (var i = 1; i <= 9; i++)
        {
            await Append("conn-p", retention, $"m{i}"); // envelopes lost; the log keeps m5..m9
        }

        await Publish("conn-p", retention, "m10"); // retained now: m6..m10

        await Wait.Eventually("m10 delivered", () => sink.Messages.Any(m => m.Name == "m10"));
        Assert.Equal(["m6", "m7", "m8", "m9", "m10"], sink.Messages.Select(m => m.Name));
    }

    [Fact]
    public async Task Envelope_of_a_newer_epoch_restarts_delivery_in_that_epoch()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, sink, AttachRequest.Fresh);
        await Publish("conn-p", "old-1", "old-2");
        var newEpoch = LogPosition.NewEpoch(Start.AddHours(1));
        var reborn = new LogEntry(1, new Message { Name = "new-1", Serial = new LogPosition(newEpoch, 1).ToSerial() });

        _bus.Deliver(new BusEnvelope(Key, newEpoch, [reborn], "conn-p"));

        await channel.Dispatched().Within();
        Assert.Equal(["old-1", "old-2", "new-1"], sink.Messages.Select(m => m.Name));
        Assert.Equal(new LogPosition(newEpoch, 1), channel.Cursor);
    }

    /// <summary>
    /// Publishes one message at a time until stopped (the test stops it, pass or fail). The in-memory engine completes
    /// synchronously, so each round yields, like a client waiting on its network, to leave the cores to the rest of
    /// the test; and a publisher more than <see cref="PublishWindow"/> ahead of the channel waits for it, as a client
    /// bounded by its pending ACKs would.
    /// </summary>
    private async Task PublishUntil(LocalChannel channel, string connectionId, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            await Publish(connectionId, $"{connectionId}-{i}");
            await Task.Yield();
            while (Head() - channel.Cursor.Offset > PublishWindow && !stop.IsCancellationRequested)
            {
                await Task.Delay(1, CancellationToken.None);
            }
        }
    }

    private const int PublishWindow = 500;

    private long Head() => _log.GetHeadAsync(Key).AsTask().Result.Offset;

    /// <param name="asyncLog">Reads complete asynchronously, like a remote log's, instead of inline.</param>
    /// <param name="time">The channel's clock (its quiet-bus check); the system's unless given.</param>
    private async Task<LocalChannel> StartChannel(bool asyncLog = false, IMessageBus? bus = null, TimeProvider? time = null)
    {
        var channel = new LocalChannel(Key, asyncLog ? new YieldingMessageLog(_log) : _log, bus ?? _bus, new InMemoryPresenceStore(), NullLogger.Instance, time);
        await channel.Ready.Within();
        return channel;
    }

    private Task<AttachOutcome> Attach(LocalChannel channel, RecordingSink sink, AttachRequest request) =>
        Attach(channel, new ChannelSubscriber(sink, Modes), request);

    /// <summary>Attaches like a transport: the ATTACHED frame is queued on the same sink, before any message.</summary>
    private static Task<AttachOutcome> Attach(LocalChannel channel, ChannelSubscriber subscriber, AttachRequest request) =>
        channel.AttachAsync(
            subscriber,
            request,
            outcome => ((RecordingSink)subscriber.Sink).Record(new ProtocolMessage(ProtocolAction.Attached)
            {
                Channel = channel.Name,
                ChannelSerial = outcome.AttachPosition.ToSerial(),
            }),
            CancellationToken.None).Within();

    /// <summary>The publish path of ChannelPublisher: append to the log, then hand the appended entries to the bus.</summary>
    private Task Publish(string? connectionId, params string[] names) => Publish(connectionId, Retention, names);

    private async Task Publish(string? connectionId, ChannelRetention retention, params string[] names)
    {
        var result = await Append(connectionId, retention, names);
        await Deliver(result, connectionId);
    }

    private Task<AppendResult> Append(string? connectionId, params string[] names) => Append(connectionId, Retention, names);

    private Task<AppendResult> Append(string? connectionId, ChannelRetention retention, params string[] names)
    {
        var messages = names.Select(n => Text(n)).ToArray();
        foreach (var message in messages)
        {
            message.ConnectionId = connectionId;
        }

        return _log.AppendAsync(Key, messages, retention).Within();
    }

    private Task Deliver(AppendResult result, string? connectionId)
    {
        if (result.Appended.Count > 0)
        {
            _bus.Deliver(new BusEnvelope(Key, result.Epoch, result.Appended, connectionId));
        }

        return Task.CompletedTask;
    }

    private async Task<IReadOnlyList<LogEntry>> ReadLog()
    {
        var head = await _log.GetHeadAsync(Key).Within();
        var read = await _log.ReadAfterAsync(Key, head.WithOffset(0), int.MaxValue).Within();
        Assert.True(read.Continuous);
        return read.Entries;
    }

    /// <summary>History up to and including a position (untilAttach), oldest first, through every page.</summary>
    private async Task<List<Message>> History(LogPosition until)
    {
        var messages = new List<Message>();
        var query = new HistoryQuery(null, null, Forwards: true, Limit: 100, until, null);
        while (true)
        {
            var page = await _log.ReadHistoryAsync(Key, query).Within();
            messages.AddRange(page.Entries.Select(e => e.Message));
            if (page.Next is not { } next)
            {
                return messages;
            }

            query = query with { Cursor = next };
        }
    }

    private static Message Text(string name) => new() { Name = name, Data = MessageData.FromText(name) };

    private static string[] Names(string prefix, int count) => [.. Enumerable.Range(0, count).Select(i => $"{prefix}{i}")];

    /// <summary>A bus whose engine can say "envelopes may have been lost" on demand, as a reconnected link does.</summary>
    private sealed class MissReportingBus(InMemoryMessageBus inner) : IMessageBus
    {
        private readonly List<Action> _onMissed = [];

        public void ReportMissed()
        {
            foreach (var onMissed in _onMissed)
            {
                onMissed();
            }
        }

        public ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<BusEnvelope> onEnvelope, Action onMissed, CancellationToken cancellationToken = default)
        {
            _onMissed.Add(onMissed);
            return inner.SubscribeAsync(channel, onEnvelope, onMissed, cancellationToken);
        }
    }
}
