using System.Collections.Concurrent;
using StackExchange.Redis;
using TokenWire.Protocol;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;

namespace TokenWire.Redis.Tests.Log;

/// <summary>
/// Two "nodes" (two multiplexers, each with its own log and bus) appending to one channel at once: the log gives one
/// gap-free order, and every node's bus delivers that very order.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisScaleOutTests(RedisServerFixture redis) : IAsyncLifetime
{
    private static readonly ChannelKey Channel = new("app", "shared");
    private static readonly ChannelRetention Retention = new(TimeSpan.FromHours(1), 1_000_000, TimeSpan.FromMinutes(2));

    private readonly RedisNodes _nodes = new(redis);
    private Node _a = null!;
    private Node _b = null!;

    public async Task InitializeAsync()
    {
        _a = await StartNode();
        _b = await StartNode();
    }

    public async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task Concurrent_appends_from_two_nodes_get_unique_gap_free_offsets_and_both_buses_deliver_the_log_order()
    {
        const int appenders = 8;
        const int batchesEach = 40;
        using var subscriptionA = new Recorder();
        using var subscriptionB = new Recorder();
        await using var subA = await _a.Bus.SubscribeAsync(Channel, subscriptionA.Add, static () => { }).Within();
        await using var subB = await _b.Bus.SubscribeAsync(Channel, subscriptionB.Add, static () => { }).Within();

        // Each appender alternates nodes and batch sizes; ids are unique, so nothing is deduplicated.
        var results = await Task.WhenAll(Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            var mine = new List<AppendResult>();
            for (var i = 0; i < batchesEach; i++)
            {
                var node = (a + i) % 2 == 0 ? _a : _b;
                var batch = Enumerable.Range(0, 1 + (i % 3)).Select(j => new Message { Id = $"p{a}:{i}:{j}", Name = $"p{a}", Data = MessageData.FromText($"{i}.{j}") }).ToArray();
                mine.Add(await node.Log.AppendAsync(Channel, batch, Retention));
            }

            return mine;
        }))).Within();

        var appended = results.SelectMany(r => r).SelectMany(r => r.Appended).OrderBy(e => e.Offset).ToList();
        var total = appenders * Enumerable.Range(0, batchesEach).Sum(i => 1 + (i % 3));
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), appended.Select(e => e.Offset));
        Assert.Single(results.SelectMany(r => r).Select(r => r.Epoch).Distinct());

        // Each appender's own messages are in its publish order (one appender awaits each append).
        foreach (var group in appended.GroupBy(e => e.Message.Name))
        {
            var data = group.Select(e => e.Message.Data.Text!).ToList();
            Assert.Equal(data.OrderBy(d => int.Parse(d.Split('.')[0], System.Globalization.CultureInfo.InvariantCulture)).ThenBy(d => d), data);
        }

        await Wait.Eventually("both buses delivered every message", () => subscriptionA.Count == total && subscriptionB.Count == total);
        Assert.Equal(appended.Select(e => e.Message.Serial), subscriptionA.Serials);
        Assert.Equal(appended.Select(e => e.Message.Serial), subscriptionB.Serials);
        Assert.Equal(appended.Select(e => e.Message.Id), subscriptionB.Entries.Select(e => e.Message.Id));
    }

    [Fact]
    public async Task A_retransmission_through_another_node_is_deduplicated_with_the_original_serial()
    {
        var original = await _a.Log.AppendAsync(Channel, [new Message { Id = "conn:7:0", Name = "token" }], Retention).Within();

        var retransmitted = await _b.Log.AppendAsync(Channel, [new Message { Id = "conn:7:0", Name = "token" }, new Message { Id = "conn:8:0", Name = "next" }], Retention).Within();

        Assert.Equal(original.Serials[0], retransmitted.Serials[0]);
        Assert.Equal(["next"], retransmitted.Appended.Select(e => e.Message.Name));
        Assert.Equal(2, (await _b.Log.GetHeadAsync(Channel).Within()).Offset);
    }

    [Fact]
    public async Task A_node_reads_what_another_node_appended_exactly_as_its_bus_delivered_it()
    {
        using var recorder = new Recorder();
        await using var subscription = await _b.Bus.SubscribeAsync(Channel, recorder.Add, static () => { }).Within();
        var message = new Message
        {
            Id = "m:1:0",
            Name = "token",
            Data = MessageData.FromBytes([0, 1, 2, 255]),
            ClientId = "ai-agent",
            ConnectionId = "conn1",
            Extras = new JsonPayload("""{"headers":{"responseId":"r1"}}"""u8.ToArray()),
        };

        var appended = await _a.Log.AppendAsync(Channel, [message], Retention).Within();
        await Wait.Eventually("the bus delivered it", () => recorder.Count == 1);
        var read = await _b.Log.ReadAfterAsync(Channel, appended.Last.WithOffset(0), 10).Within();

        var delivered = recorder.Entries[0].Message;
        var fromLog = read.Entries.Single().Message;
        Assert.Equal("conn1", recorder.Envelopes[0].PublisherConnectionId);
        foreach (var m in new[] { delivered, fromLog })
        {
            Assert.Equal(appended.Serials[0], m.Serial);
            Assert.Equal(appended.Appended[0].Message.Timestamp, m.Timestamp);
            Assert.Equal(message.Data, m.Data);
            Assert.Equal(("m:1:0", "token", "ai-agent", "conn1", 0), (m.Id, m.Name, m.ClientId, m.ConnectionId, m.Action!.Value));
            Assert.Equal("""{"headers":{"responseId":"r1"}}""", System.Text.Encoding.UTF8.GetString(m.Extras!.Utf8Json.Span));
        }
    }

    private async Task<Node> StartNode()
    {
        var link = await _nodes.ConnectAsync();
        var log = new RedisMessageLog(link, _nodes.Keys, TimeProvider.System, TimeSpan.FromMinutes(5));
        return new Node(log, new RedisMessageBus(link, _nodes.Keys));
    }

    private sealed record Node(RedisMessageLog Log, RedisMessageBus Bus);

    private sealed class Recorder : IDisposable
    {
        private readonly ConcurrentQueue<BusEnvelope> _envelopes = new();

        public int Count => _envelopes.Sum(e => e.Entries.Count);

        public List<BusEnvelope> Envelopes => [.. _envelopes];

        public List<LogEntry> Entries => [.. _envelopes.SelectMany(e => e.Entries)];

        public List<string?> Serials => [.. Entries.Select(e => e.Message.Serial)];

        public void Add(BusEnvelope envelope) => _envelopes.Enqueue(envelope);

        public void Dispose() => _envelopes.Clear();
    }
}
