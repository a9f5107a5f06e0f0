using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using TokenWire.Protocol;
using TokenWire.Server.Annotations;
using TokenWire.Server.Channels;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Presence;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Channels;

/// <summary>
/// A channel's annotation delivery: a summary never before its message on this node, the annotation mark in every
/// frame's channelSerial, a resume replaying exactly the raw annotations and summaries the client lacks, and filtered
/// attachments getting only their messages' summaries.
/// </summary>
public sealed class LocalChannelAnnotationTests : IDisposable
{
    private static readonly ChannelKey Key = new("app", "mutable:chan");
    private const ProtocolFlags Modes = ProtocolFlags.Subscribe | ProtocolFlags.Publish | ProtocolFlags.AnnotationSubscribe;
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 1_000_000, TimeSpan.FromMinutes(2), Mutable: true);
    private static readonly AnnotationStorage Storage = new(TimeSpan.FromHours(1), 100);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryMessageLog _log;
    private readonly InMemoryMessageBus _bus = new();
    private readonly InMemoryAnnotationStore _annotations;

    public LocalChannelAnnotationTests()
    {
        _log = new InMemoryMessageLog(_time, TimeSpan.FromMinutes(5));
        _annotations = new InMemoryAnnotationStore(_time);
    }

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task A_summary_waits_until_this_node_has_delivered_its_message()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, new ChannelSubscriber(sink, Modes), AttachRequest.Fresh);
        var appended = await _log.AppendAsync(Key, [Text("m1")], Retention).Within();
        var serial = appended.Appended[0].Message.Serial!;

        await Annotate(serial); // the message's envelope has not arrived yet
        await channel.Dispatched().Within();
        Assert.Equal(0, sink.MessageCount);

        _bus.Deliver(new BusEnvelope(Key, appended.Epoch, appended.Appended, null));
        await Wait.Eventually("the message, its raw annotation and its summary", () => sink.Frames.Count == 4);
        Assert.Equal([ProtocolAction.Attached, ProtocolAction.Message, ProtocolAction.Annotation, ProtocolAction.Message], sink.Frames.Select(f => f.Action));
        Assert.Equal(MessageActions.Summary, sink.Frames[3].Messages![0].Action);
        Assert.Equal(serial + ":1", sink.Frames[2].ChannelSerial);
        Assert.Equal(serial + ":2", sink.Frames[3].ChannelSerial);
    }

    [Fact]
    public async Task Frames_carry_the_annotation_mark_once_the_channel_has_annotations()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-s");
        await Attach(channel, new ChannelSubscriber(sink, Modes), AttachRequest.Fresh);
        var first = await Publish("m1");
        Assert.Equal(first, (await WaitForFrames(sink, 2))[^1].ChannelSerial); // no annotations yet: the plain serial

        await Annotate(first);
        var second = await Publish("m2");
        var frames = await WaitForFrames(sink, 5);
        Assert.Equal(second + ":2", frames[^1].ChannelSerial);
        Assert.Equal(second + ":2", channel.CursorSerial);
    }

    [Fact]
    public async Task A_resume_replays_the_missed_messages_then_the_missed_annotations_and_summaries_once()
    {
        var channel = await StartChannel();
        var before = new RecordingSink("conn-s");
        var first = new ChannelSubscriber(before, Modes);
        await Attach(channel, first, AttachRequest.Fresh);
        var m1 = await Publish("m1");
        await Annotate(m1);
        await Annotate(m1);
        var resumeFrom = (await WaitForFrames(before, 6))[^1].ChannelSerial!;
        channel.Detach(first);

        // Missed while away: a message, and annotations on both messages.
        var m2 = await Publish("m2");
        await Annotate(m2);
        await Annotate(m1);
        await channel.Dispatched().Within();

        var after = new RecordingSink("conn-s");
        Assert.True(ChannelSerials.TryParse(resumeFrom, out var position, out var mark));
        var outcome = await Attach(channel, new ChannelSubscriber(after, Modes), new AttachRequest(position, null, null, mark));
        Assert.True(outcome.Resumed);
        Assert.Equal(resumeFrom, outcome.ChannelSerial);
        await Annotate(m2); // live after the replay
        var frames = await WaitForFrames(after, 8);
        Assert.Equal(
            [ProtocolAction.Attached, ProtocolAction.Message, ProtocolAction.Annotation, ProtocolAction.Message, ProtocolAction.Annotation, ProtocolAction.Message, ProtocolAction.Annotation, ProtocolAction.Message],
            frames.Select(f => f.Action));
        Assert.Equal("m2", frames[1].Messages![0].Name);
        Assert.Equal([m2, m1, m2], frames.Where(f => f.Action == ProtocolAction.Annotation).Select(f => f.Annotations![0].MessageSerial));
        Assert.Equal([1, 3, 2], frames.Skip(2).Where(f => f.Action == ProtocolAction.Message).Select(f => Total(f.Messages![0])));
        Assert.Equal([":5", ":6", ":7", ":8", ":9", ":10"], frames.Skip(2).Select(f => f.ChannelSerial![f.ChannelSerial!.LastIndexOf(':')..]));
        await channel.Dispatched().Within();
        Assert.Equal(8, after.Frames.Count);
    }

    [Fact]
    public async Task A_resume_after_a_raw_annotation_replays_only_its_summary()
    {
        var channel = await StartChannel();
        var m1 = await Publish("m1");
        await Annotate(m1);
        var head = await _log.GetHeadAsync(Key).Within();

        var sink = new RecordingSink("conn-s");
        var outcome = await Attach(channel, new ChannelSubscriber(sink, Modes), new AttachRequest(head, null, null, ResumeMark: 1));
        Assert.True(outcome.Resumed);
        var frames = await WaitForFrames(sink, 2);
        Assert.Equal(ProtocolAction.Message, frames[1].Action);
        Assert.Equal(MessageActions.Summary, frames[1].Messages![0].Action);
        await channel.Dispatched().Within();
        Assert.Equal(2, sink.Frames.Count);
    }

    [Fact]
    public async Task A_resume_of_an_attachment_that_only_subscribes_to_annotations_replays_its_missed_raw_annotations_once_ahead_of_live_ones()
    {
        var channel = await StartChannel();
        var m1 = await Publish("m1");
        await Annotate(m1); // the client had this one
        var resumeMark = ChannelSerials.RawMark(1);
        await Annotate(m1); // missed
        await Annotate(m1); // missed
        await channel.Dispatched().Within();

        var sink = new RecordingSink("conn-a");
        var presence = new ChannelSubscriber(sink, ProtocolFlags.AnnotationSubscribe);
        var registered = channel.AddPresenceSubscriber(presence);
        await Annotate(m1); // after registration: sent to it live, held back until the replay is queued
        var head = await _log.GetHeadAsync(Key).Within();
        var outcome = await channel.AttachAsync(null, new AttachRequest(head, null, null, resumeMark), o => sink.Record(new ProtocolMessage(ProtocolAction.Attached) { ChannelSerial = o.ChannelSerial }), CancellationToken.None).Within();
        Assert.True(outcome.Resumed);
        await channel.ReplayMissedRawAnnotationsAsync(presence, outcome, resumeMark, registered, CancellationToken.None).Within();
        channel.ReleasePresenceBacklog(presence);
        await Annotate(m1); // live

        var frames = await WaitForFrames(sink, 5);
        Assert.Equal([ProtocolAction.Attached, ProtocolAction.Annotation, ProtocolAction.Annotation, ProtocolAction.Annotation, ProtocolAction.Annotation], frames.Select(f => f.Action));
        Assert.Equal([":3", ":5", ":7", ":9"], frames.Skip(1).Select(f => f.ChannelSerial![f.ChannelSerial!.LastIndexOf(':')..]));
        await channel.Dispatched().Within();
        Assert.Equal(5, sink.Frames.Count);
    }

    [Fact]
    public async Task A_filtered_attachment_gets_the_summaries_of_matching_messages_only_live_and_replayed()
    {
        var channel = await StartChannel();
        Assert.True(MessageFilter.TryParse("name == 'answer'", out var filter, out _));
        var sink = new RecordingSink("conn-f");
        var filtered = new ChannelSubscriber(sink, ProtocolFlags.Subscribe) { WireName = "[filter=x]mutable:chan", Filter = filter };
        await Attach(channel, filtered, AttachRequest.Fresh);
        var answer = await Publish("answer");
        var other = await Publish("other");
        await Annotate(other);
        await Annotate(answer);
        await Wait.Eventually("the matching summary", () => sink.Messages.Count(m => m.Action == MessageActions.Summary) == 1);
        var resumeFrom = sink.Frames[^1].ChannelSerial!;
        channel.Detach(filtered);

        await Annotate(answer);
        await Annotate(other);
        var replayed = new RecordingSink("conn-f");
        Assert.True(ChannelSerials.TryParse(resumeFrom, out var position, out var mark));
        await Attach(channel, new ChannelSubscriber(replayed, ProtocolFlags.Subscribe) { WireName = "[filter=x]mutable:chan", Filter = filter }, new AttachRequest(position, null, null, mark));
        await channel.Dispatched().Within();

        Assert.All(sink.Messages.Where(m => m.Action == MessageActions.Summary), m => Assert.Equal(answer, m.Serial));
        Assert.Equal("[filter=x]mutable:chan", sink.Frames[^1].Channel);
        var summary = Assert.Single(replayed.Messages);
        Assert.Equal(answer, summary.Serial);
        Assert.Equal(2, Total(summary));
    }

    private async Task<LocalChannel> StartChannel()
    {
        var channel = new LocalChannel(Key, _log, _bus, new InMemoryPresenceStore(), NullLogger.Instance, _time, _annotations);
        await channel.Ready.Within();
        return channel;
    }

    private static Task<AttachOutcome> Attach(LocalChannel channel, ChannelSubscriber subscriber, AttachRequest request) =>
        channel.AttachAsync(
            subscriber,
            request,
            outcome => ((RecordingSink)subscriber.Sink).Record(new ProtocolMessage(ProtocolAction.Attached) { Channel = channel.Name, ChannelSerial = outcome.ChannelSerial }),
            CancellationToken.None).Within();

    private async Task<string> Publish(string name)
    {
        var result = await _log.AppendAsync(Key, [Text(name)], Retention).Within();
        _bus.Deliver(new BusEnvelope(Key, result.Epoch, result.Appended, null));
        return result.Appended[0].Message.Serial!;
    }

    private async Task Annotate(string serial) =>
        await _annotations.PublishAsync(
            Key,
            new Annotation { Id = Guid.NewGuid().ToString("N"), Action = AnnotationActions.Create, MessageSerial = serial, Type = "like:total.v1", Timestamp = _time.GetUtcNow().ToUnixTimeMilliseconds() },
            Storage).Within();

    private static async Task<IReadOnlyList<ProtocolMessage>> WaitForFrames(RecordingSink sink, int count)
    {
        await Wait.Eventually($"{count} frames", () => sink.Frames.Count >= count);
        return sink.Frames;
    }

    private static int Total(Message summary) =>
        summary.Annotations!.ToElement().GetProperty("summary").GetProperty("like:total.v1").GetProperty("total").GetInt32();

    private static Message Text(string name) => new() { Name = name, Data = MessageData.FromText(name) };
}
