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
/// Issue 11 item 3: appends a connection makes to one message within its appendRollupWindow after one went out are
/// delivered as one rolled-up append; the first goes out at once; a held roll-up goes out when the window ends, or
/// before anything that follows it in the log. Time is a fake clock, so windows end exactly when the test says.
/// </summary>
public sealed class AppendRollupTests : IDisposable
{
    private static readonly ChannelKey Key = new("app", "mutable:rollup");
    private const ProtocolFlags Modes = ProtocolFlags.Subscribe | ProtocolFlags.Publish;
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(40);
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 1_000_000, TimeSpan.FromMinutes(2), Mutable: true);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 9, 0, 0, TimeSpan.Zero));
    private readonly InMemoryMessageLog _log;
    private readonly InMemoryMessageBus _bus = new();

    private readonly ResponseWriter _agent;

    public AppendRollupTests()
    {
        _log = new InMemoryMessageLog(_time, TimeSpan.FromMinutes(5), _bus);
        _agent = new ResponseWriter(_log, Key, Retention);
    }

    public void Dispose() => _log.Dispose();

    [Fact]
    public async Task The_first_append_goes_out_at_once_and_later_ones_within_the_window_as_one_roll_up()
    {
        var (channel, sink) = await StartWithSubscriber();
        var response = await _agent.CreateAsync("");
        await _agent.AppendAsync(response, "a", Window);
        await channel.Dispatched().Within();
        Assert.Equal(["", "a"], sink.Messages.Select(m => m.Data.Text));

        await _agent.AppendAsync(response, "b", Window);
        await _agent.AppendAsync(response, "c", Window);
        var last = await _agent.AppendAsync(response, "d", Window);
        await channel.Dispatched().Within();
        Assert.Equal(2, sink.MessageCount); // held

        _time.Advance(Window);
        await Wait.Eventually("the roll-up", () => sink.MessageCount == 3);
        var rolled = sink.Messages[2];
        Assert.Equal((MessageActions.Append, "bcd"), (rolled.Action, rolled.Data.Text));
        Assert.Contains(last, rolled.Version!.ToString(), StringComparison.Ordinal);
        Assert.True(LogPosition.TryParse(sink.Frames[^1].ChannelSerial, out var position));
        Assert.Equal((await _log.GetHeadAsync(Key).Within()).Offset, position.Offset);
    }

    [Fact]
    public async Task Anything_else_on_the_channel_flushes_the_held_appends_first()
    {
        var (channel, sink) = await StartWithSubscriber();
        var response = await _agent.CreateAsync("");
        await _agent.AppendAsync(response, "a", Window);
        await _agent.AppendAsync(response, "b", Window); // held
        await _agent.CreateAsync("other");

        await channel.Dispatched().Within();
        Assert.Equal(["", "a", "b", "other"], sink.Messages.Select(m => m.Data.Text));
    }

    [Fact]
    public async Task A_window_of_zero_delivers_every_append()
    {
        var (channel, sink) = await StartWithSubscriber();
        var response = await _agent.CreateAsync("");
        foreach (var token in new[] { "a", "b", "c" })
        {
            await _agent.AppendAsync(response, token);
        }

        await channel.Dispatched().Within();
        Assert.Equal(["", "a", "b", "c"], sink.Messages.Select(m => m.Data.Text));
    }

    [Fact]
    public async Task An_attach_flushes_what_is_held_to_the_others_and_the_newcomer_meets_the_message_whole()
    {
        var (channel, early) = await StartWithSubscriber();
        var response = await _agent.CreateAsync("");
        await _agent.AppendAsync(response, "a", Window);
        await _agent.AppendAsync(response, "b", Window); // held
        var late = new RecordingSink("conn-late");
        await channel.AttachAsync(new ChannelSubscriber(late, Modes), AttachRequest.Fresh, _ => { }, CancellationToken.None).Within();
        await _agent.AppendAsync(response, "c", Window); // within the window of the flush: held again
        _time.Advance(Window);

        await Wait.Eventually("early got the roll-ups", () => early.MessageCount == 4);
        await Wait.Eventually("late met the message", () => late.MessageCount == 1);
        Assert.Equal(["", "a", "b", "c"], early.Messages.Select(m => m.Data.Text));
        Assert.Equal((MessageActions.Update, "abc"), (late.Messages[0].Action, late.Messages[0].Data.Text));
    }

    private async Task<(LocalChannel Channel, RecordingSink Sink)> StartWithSubscriber()
    {
        var channel = new LocalChannel(Key, _log, _bus, new InMemoryPresenceStore(), NullLogger.Instance, _time);
        await channel.Ready.Within();
        var sink = new RecordingSink("conn-viewer");
        await channel.AttachAsync(new ChannelSubscriber(sink, Modes), AttachRequest.Fresh, _ => { }, CancellationToken.None).Within();
        return (channel, sink);
    }
}
