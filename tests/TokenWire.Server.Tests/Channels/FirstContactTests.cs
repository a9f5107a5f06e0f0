using System.Text.Json;
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

/// <summary>
/// Issue 11 item 1: an attachment's first delivery of a message it did not receive live (created before its attach
/// point) is the whole message so far as <c>message.update</c>, with the version of the append that triggered it;
/// later appends go out as fragments. A resumed attachment is replayed the appends themselves.
/// </summary>
public sealed class FirstContactTests : IDisposable
{
    private static readonly ChannelKey Key = new("app", "mutable:chan");
    private const ProtocolFlags Modes = ProtocolFlags.Subscribe | ProtocolFlags.Publish;
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 1_000_000, TimeSpan.FromMinutes(2), Mutable: true);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryMessageLog _log;
    private readonly InMemoryMessageBus _bus = new();

    private readonly ResponseWriter _agent;

    public FirstContactTests()
    {
        _log = new InMemoryMessageLog(_time, TimeSpan.FromMinutes(5), _bus);
        _agent = new ResponseWriter(_log, Key, Retention);
    }

    public void Dispose() => _log.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task First_append_after_attach_is_the_whole_message_then_fragments(bool channelStartsMidStream)
    {
        LocalChannel? channel = channelStartsMidStream ? null : await StartChannel();
        var response = await _agent.CreateAsync("He");
        await _agent.AppendAsync(response, "llo");
        channel ??= await StartChannel(); // started after the create: the state comes from the log
        var sink = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(sink, Modes), AttachRequest.Fresh);

        var first = await _agent.AppendAsync(response, " wor");
        await _agent.AppendAsync(response, "ld");

        await Wait.Eventually("two deliveries", () => sink.MessageCount >= 2);
        var messages = sink.Messages;
        Assert.Equal(MessageActions.Update, messages[0].Action);
        Assert.Equal("Hello wor", messages[0].Data.Text);
        Assert.Equal(response.Serial, messages[0].Serial);
        Assert.Equal(first, VersionSerial(messages[0]));
        Assert.Equal(response.Timestamp, messages[0].Timestamp);
        Assert.Equal(MessageActions.Append, messages[1].Action);
        Assert.Equal("ld", messages[1].Data.Text);
    }

    [Fact]
    public async Task Messages_created_after_the_attach_stream_as_fragments()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(sink, Modes), AttachRequest.Fresh);

        var response = await _agent.CreateAsync("A");
        await _agent.AppendAsync(response, "B");

        await Wait.Eventually("create and append", () => sink.MessageCount >= 2);
        Assert.Equal([MessageActions.Create, MessageActions.Append], sink.Messages.Select(m => m.Action ?? 0));
        Assert.Equal("B", sink.Messages[1].Data.Text);
    }

    [Fact]
    public async Task Append_mode_full_delivers_every_append_whole()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(sink, Modes, appendModeFull: true), AttachRequest.Fresh);

        var response = await _agent.CreateAsync("a");
        await _agent.AppendAsync(response, "b");
        await _agent.AppendAsync(response, "c");

        await Wait.Eventually("three deliveries", () => sink.MessageCount >= 3);
        Assert.Equal(["a", "ab", "abc"], sink.Messages.Select(m => m.Data.Text));
        Assert.All(sink.Messages.Skip(1), m => Assert.Equal(MessageActions.Update, m.Action));
    }

    [Fact]
    public async Task Whole_appends_reach_each_full_mode_attachment_as_shared_messages_never_a_frame_serialised_for_it()
    {
        var channel = await StartChannel();
        var first = new RecordingSink("conn-a");
        var second = new RecordingSink("conn-b");
        await Attach(channel, new ChannelSubscriber(first, Modes, appendModeFull: true), AttachRequest.Fresh);
        await Attach(channel, new ChannelSubscriber(second, Modes, appendModeFull: true), AttachRequest.Fresh);

        var response = await _agent.CreateAsync("a");
        await _agent.AppendAsync(response, "b");

        await Wait.Eventually("both deliveries to both", () => first.MessageCount >= 2 && second.MessageCount >= 2);
        var firstWhole = first.Batches[^1];
        var secondWhole = second.Batches[^1];
        Assert.True(firstWhole.ComposedFromMessages);
        Assert.True(secondWhole.ComposedFromMessages);
        Assert.Same(firstWhole.Messages[0], secondWhole.Messages[0]); // one whole message, encoded once, for both
        Assert.Equal("ab", firstWhole.Messages[0].Message.Data.Text);
    }

    [Fact]
    public async Task A_resumed_attachment_is_replayed_the_appends_themselves()
    {
        var channel = await StartChannel();
        var response = await _agent.CreateAsync("x");
        var first = new RecordingSink("conn-viewer");
        var firstSubscriber = new ChannelSubscriber(first, Modes);
        await Attach(channel, firstSubscriber, AttachRequest.Fresh);
        await _agent.AppendAsync(response, "y");
        await Wait.Eventually("first contact", () => first.MessageCount >= 1);
        Assert.True(LogPosition.TryParse(first.Frames[^1].ChannelSerial, out var resumeFrom));
        channel.Detach(firstSubscriber);

        await _agent.AppendAsync(response, "z"); // missed while disconnected
        var resumed = new RecordingSink("conn-viewer");
        var outcome = await Attach(channel, new ChannelSubscriber(resumed, Modes), new AttachRequest(resumeFrom, null, null));
        await _agent.AppendAsync(response, "!");

        Assert.True(outcome.Resumed);
        await Wait.Eventually("replay and live", () => resumed.MessageCount >= 2);
        Assert.Equal(["z", "!"], resumed.Messages.Select(m => m.Data.Text));
        Assert.All(resumed.Messages, m => Assert.Equal(MessageActions.Append, m.Action));
    }

    [Fact]
    public async Task Append_mode_full_holds_for_a_resumes_replay_too()
    {
        var channel = await StartChannel();
        var response = await _agent.CreateAsync("x");
        var first = new RecordingSink("conn-viewer");
        var firstSubscriber = new ChannelSubscriber(first, Modes, appendModeFull: true);
        await Attach(channel, firstSubscriber, AttachRequest.Fresh);
        await _agent.AppendAsync(response, "y");
        await Wait.Eventually("first delivery", () => first.MessageCount >= 1);
        Assert.True(LogPosition.TryParse(first.Frames[^1].ChannelSerial, out var resumeFrom));
        channel.Detach(firstSubscriber);

        await _agent.AppendAsync(response, "z");
        var resumed = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(resumed, Modes, appendModeFull: true), new AttachRequest(resumeFrom, null, null));

        await Wait.Eventually("the replayed append", () => resumed.MessageCount >= 1);
        Assert.Equal((MessageActions.Update, "xyz"), (resumed.Messages[0].Action, resumed.Messages[0].Data.Text));
    }

    [Fact]
    public async Task A_rewound_message_is_in_contact_already()
    {
        var channel = await StartChannel();
        var response = await _agent.CreateAsync("1");
        await _agent.AppendAsync(response, "2");
        var sink = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(sink, Modes), new AttachRequest(null, RewindCount: 1, RewindAge: null));

        await _agent.AppendAsync(response, "3");

        await Wait.Eventually("rewind and live", () => sink.MessageCount >= 2);
        Assert.Equal(["12", "3"], sink.Messages.Select(m => m.Data.Text));
        Assert.Equal([MessageActions.Update, MessageActions.Append], sink.Messages.Select(m => m.Action ?? 0));
    }

    [Fact]
    public async Task Each_attachment_gets_its_own_first_contact()
    {
        var channel = await StartChannel();
        var response = await _agent.CreateAsync("s");
        var early = new RecordingSink("conn-early");
        await Attach(channel, new ChannelSubscriber(early, Modes), AttachRequest.Fresh);
        await _agent.AppendAsync(response, "t");
        var late = new RecordingSink("conn-late");
        await Attach(channel, new ChannelSubscriber(late, Modes), AttachRequest.Fresh);
        await _agent.AppendAsync(response, "u");

        await Wait.Eventually("early got two", () => early.MessageCount >= 2);
        await Wait.Eventually("late got one", () => late.MessageCount >= 1);
        Assert.Equal(["st", "u"], early.Messages.Select(m => m.Data.Text));
        Assert.Equal(["stu"], late.Messages.Select(m => m.Data.Text));
    }

    [Fact]
    public async Task An_ephemeral_message_is_delivered_live_without_moving_the_cursor()
    {
        var channel = await StartChannel();
        var sink = new RecordingSink("conn-viewer");
        await Attach(channel, new ChannelSubscriber(sink, Modes), AttachRequest.Fresh);
        await _agent.CreateAsync("stored");
        var cursor = channel.Cursor;

        var ephemeral = new Message { Id = "e:0:0", Name = "progress", Data = MessageData.FromText("50%"), Timestamp = 1 };
        _bus.Deliver(new BusEnvelope(Key, cursor.Epoch, [new LogEntry(0, ephemeral)], "conn-agent", Ephemeral: true));
        await _agent.CreateAsync("after");

        await Wait.Eventually("three deliveries", () => sink.MessageCount >= 3);
        Assert.Equal(["stored", "50%", "after"], sink.Messages.Select(m => m.Data.Text));
        Assert.Equal(cursor.ToSerial(), sink.Frames.Single(f => f.Messages?[0].Name == "progress").ChannelSerial);
        Assert.Equal(cursor.Offset + 1, channel.Cursor.Offset);
    }

    private static string? VersionSerial(Message message) =>
        JsonDocument.Parse(message.Version!.Utf8Json).RootElement.GetProperty("serial").GetString();

    private async Task<LocalChannel> StartChannel()
    {
        var channel = new LocalChannel(Key, _log, _bus, new InMemoryPresenceStore(), NullLogger.Instance);
        await channel.Ready.Within();
        return channel;
    }

    private static Task<AttachOutcome> Attach(LocalChannel channel, ChannelSubscriber subscriber, AttachRequest request) =>
        channel.AttachAsync(subscriber, request, _ => { }, CancellationToken.None).Within();
}
