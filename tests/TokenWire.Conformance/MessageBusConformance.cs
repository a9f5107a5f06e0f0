using System.Collections.Concurrent;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Conformance;

/// <summary>
/// The engine's delivery contract (<see cref="IMessageBus"/> receiving what <see cref="IMessageLog"/> appends), run
/// against every engine: each engine's test class inherits this and starts nodes, each a log and a bus sharing one
/// engine (the embedded engine has one node, so every "node" is the same). "Nothing else arrives" is asserted by
/// delivering a marker after it and waiting for that, never by sleeping.
/// </summary>
public abstract class MessageBusConformance : IAsyncLifetime
{
    protected static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 10_000, TimeSpan.FromMinutes(2));

    private static int _channels;

    /// <summary>A channel of its own per test, so engines that share state across tests (Redis) stay independent.</summary>
    protected ChannelKey Channel { get; } = new("app", $"bus-{Environment.ProcessId}-{Interlocked.Increment(ref _channels)}-{Guid.NewGuid():N}");

    /// <summary>Starts a node of the engine under test: it shares the channels of every node this test started.</summary>
    protected abstract Task<EngineNode> StartNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_append_on_one_node_is_delivered_to_subscribers_on_every_node_as_appended()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        await using var onA = await Recorder.SubscribeAsync(a.Bus, Channel);
        await using var onB = await Recorder.SubscribeAsync(b.Bus, Channel);
        var message = new Message
        {
            Id = "conn1:0:0",
            Name = "token",
            Data = MessageData.FromBytes([0, 1, 2, 255]),
            ClientId = "ai-agent",
            ConnectionId = "conn1",
            Extras = new JsonPayload("""{"headers":{"responseId":"r1"}}"""u8.ToArray()),
        };

        var appended = await a.Log.AppendAsync(Channel, [message, Text("second", "conn1")], Retention).Within();

        foreach (var recorder in new[] { onA, onB })
        {
            var envelope = await recorder.NextAsync();
            Assert.False(envelope.Ephemeral);
            Assert.Equal((Channel, appended.Epoch, "conn1"), (envelope.Channel, envelope.Epoch, envelope.PublisherConnectionId));
            Assert.Equal(appended.Appended.Select(e => e.Offset), envelope.Entries.Select(e => e.Offset));
            Assert.Equal(appended.Serials, envelope.Entries.Select(e => e.Message.Serial));
            var delivered = envelope.Entries[0].Message;
            Assert.Equal(appended.Appended[0].Message.Timestamp, delivered.Timestamp);
            Assert.Equal(("conn1:0:0", "token", "ai-agent", "conn1", 0), (delivered.Id, delivered.Name, delivered.ClientId, delivered.ConnectionId, delivered.Action!.Value));
            Assert.Equal(message.Data, delivered.Data);
            Assert.Equal("""{"headers":{"responseId":"r1"}}""", System.Text.Encoding.UTF8.GetString(delivered.Extras!.Utf8Json.Span));
        }
    }

    [Fact]
    public async Task An_append_without_a_connection_is_delivered_without_a_publisher()
    {
        var node = await StartNodeAsync();
        await using var recorder = await Recorder.SubscribeAsync(node.Bus, Channel);

        await node.Log.AppendAsync(Channel, [Text("rest", connectionId: null)], Retention).Within();

        Assert.Null((await recorder.NextAsync()).PublisherConnectionId);
    }

    [Fact]
    public async Task A_fully_deduplicated_append_delivers_nothing()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        await using var recorder = await Recorder.SubscribeAsync(b.Bus, Channel);
        var original = Text("original", "conn1", id: "conn1:7:0");
        await a.Log.AppendAsync(Channel, [original], Retention).Within();
        await recorder.NextAsync();

        await b.Log.AppendAsync(Channel, [Text("retransmitted", "conn1", id: "conn1:7:0")], Retention).Within();
        await a.Log.AppendAsync(Channel, [Text("marker", "conn1")], Retention).Within();

        Assert.Equal(["marker"], (await recorder.NextAsync()).Entries.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task A_version_is_delivered_with_the_publishers_append_rollup_window()
    {
        var node = await StartNodeAsync();
        await using var recorder = await Recorder.SubscribeAsync(node.Bus, Channel);
        var created = await node.Log.AppendAsync(Channel, [Text("Hel", "conn-agent")], MutableRetention).Within();
        await recorder.NextAsync();
        var target = created.Last;
        var operation = new Message
        {
            Id = "conn-agent:1:0",
            Action = MessageActions.Append,
            Serial = target.ToSerial(),
            Data = MessageData.FromText("lo"),
            ConnectionId = "conn-agent",
            Version = VersionPayload.Compose(null, "agent"),
        };

        var appended = await node.Log.AppendMutationAsync(Channel, new MessageMutation(target.Epoch, target.Offset, operation, "agent", MayChangeAny: true, MaxMessageSize: 65536, AppendRollupWindow: TimeSpan.FromMilliseconds(40)), MutableRetention).Within();

        var envelope = await recorder.NextAsync();
        Assert.Equal(TimeSpan.FromMilliseconds(40), envelope.AppendRollupWindow);
        Assert.Equal("conn-agent", envelope.PublisherConnectionId);
        var version = Assert.Single(envelope.Entries);
        Assert.Equal((appended.Appended[0].Offset, target.Offset, MessageActions.Append), (version.Offset, version.VersionOf, version.Message.Action!.Value));
    }

    [Fact]
    public async Task Ephemeral_messages_reach_every_node_and_are_not_stored()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        await using var recorder = await Recorder.SubscribeAsync(b.Bus, Channel);
        var message = new Message { Id = "e:1:0", Name = "data-progress", Data = MessageData.FromText("42%"), ConnectionId = "conn1", Action = MessageActions.Create, Timestamp = 1234 };

        await a.Log.PublishEphemeralAsync(Channel, [message]).Within();

        var envelope = await recorder.NextAsync();
        Assert.True(envelope.Ephemeral);
        Assert.Equal("conn1", envelope.PublisherConnectionId);
        var delivered = Assert.Single(envelope.Entries).Message;
        Assert.Equal(("e:1:0", "data-progress", "42%", 1234L), (delivered.Id, delivered.Name, delivered.Data.Text, delivered.Timestamp!.Value));
        Assert.Null(delivered.Serial);
        Assert.Equal(0, (await b.Log.GetHeadAsync(Channel).Within()).Offset);
    }

    [Fact]
    public async Task A_subscriber_receives_only_its_own_channel()
    {
        var node = await StartNodeAsync();
        var other = Channel with { Name = Channel.Name + "-other" };
        await using var recorder = await Recorder.SubscribeAsync(node.Bus, Channel);

        await node.Log.AppendAsync(other, [Text("elsewhere", "conn1")], Retention).Within();
        await node.Log.AppendAsync(Channel, [Text("here", "conn1")], Retention).Within();

        Assert.Equal(["here"], (await recorder.NextAsync()).Entries.Select(e => e.Message.Name));
    }

    [Fact]
    public async Task Nothing_is_delivered_after_the_subscription_is_disposed()
    {
        var node = await StartNodeAsync();
        var disposed = await Recorder.SubscribeAsync(node.Bus, Channel);
        await using var marker = await Recorder.SubscribeAsync(node.Bus, Channel);

        await disposed.DisposeAsync();
        await node.Log.AppendAsync(Channel, [Text("after", "conn1")], Retention).Within();

        await marker.NextAsync();
        Assert.Equal(0, disposed.Count);
    }

    [Fact]
    public async Task Concurrent_appends_from_two_nodes_are_each_delivered_once_to_every_subscriber()
    {
        const int appenders = 4;
        const int appendsEach = 25;
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        await using var onA = await Recorder.SubscribeAsync(a.Bus, Channel);
        await using var onB = await Recorder.SubscribeAsync(b.Bus, Channel);

        await Task.WhenAll(Enumerable.Range(0, appenders).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < appendsEach; i++)
            {
                var node = (p + i) % 2 == 0 ? a : b;
                await node.Log.AppendAsync(Channel, [Text($"p{p}-{i}", $"conn{p}")], Retention);
            }
        }))).Within();

        var expected = Enumerable.Range(1, appenders * appendsEach).Select(i => (long)i);
        foreach (var recorder in new[] { onA, onB })
        {
            await Wait.Eventually("every append delivered", () => recorder.Offsets.Count == appenders * appendsEach);
            Assert.Equal(expected, recorder.Offsets.Order());
        }
    }

    private static ChannelRetention MutableRetention => Retention with { Mutable = true };

    private static Message Text(string name, string? connectionId, string? id = null) =>
        new() { Id = id ?? $"{connectionId ?? "rest"}:{Guid.NewGuid():N}:0", Name = name, Data = MessageData.FromText(name), ConnectionId = connectionId };

    /// <summary>What one node of an engine is made of, for the delivery contract.</summary>
    protected sealed record EngineNode(IMessageLog Log, IMessageBus Bus);

    /// <summary>Envelopes of one subscription, in arrival order.</summary>
    private sealed class Recorder : IAsyncDisposable
    {
        private readonly System.Threading.Channels.Channel<BusEnvelope> _envelopes = System.Threading.Channels.Channel.CreateUnbounded<BusEnvelope>();
        private readonly ConcurrentQueue<long> _offsets = new();
        private IAsyncDisposable? _subscription;
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public IReadOnlyCollection<long> Offsets => _offsets;

        public static async Task<Recorder> SubscribeAsync(IMessageBus bus, ChannelKey channel)
        {
            var recorder = new Recorder();
            recorder._subscription = await bus.SubscribeAsync(channel, recorder.Add, static () => { }).Within();
            return recorder;
        }

        public async Task<BusEnvelope> NextAsync()
        {
            using var timeout = new CancellationTokenSource(Wait.Timeout);
            return await _envelopes.Reader.ReadAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _subscription, null) is { } subscription)
            {
                await subscription.DisposeAsync();
            }
        }

        private void Add(BusEnvelope envelope)
        {
            Interlocked.Increment(ref _count);
            foreach (var entry in envelope.Entries)
            {
                _offsets.Enqueue(entry.Offset);
            }

            _envelopes.Writer.TryWrite(envelope);
        }
    }
}
