using System.Collections.Concurrent;
using System.Text.Json;
using TokenWire.Protocol;
using TokenWire.Server.Annotations;
using TokenWire.Server.Engine;
using TokenWire.Testing;

namespace TokenWire.Conformance;

/// <summary>
/// The <see cref="IAnnotationStore"/> contract, run against every engine: each engine's test class starts nodes sharing
/// one store (the embedded engine has one node, so every "node" is the same store). Annotations get increasing serials
/// after their message's, fold into one summary, are delivered with it to every node, are idempotent by id, and two
/// nodes annotating one message at once both count.
/// </summary>
public abstract class AnnotationStoreConformance : IAsyncLifetime
{
    private static readonly AnnotationStorage Storage = new(TimeSpan.FromMinutes(5), 100);
    private static int _channels;

    /// <summary>A channel of its own per test, so engines that share state across tests (Redis) stay independent.</summary>
    protected ChannelKey Channel { get; } = new("app", $"mutable:annotations-{Environment.ProcessId}-{Interlocked.Increment(ref _channels)}-{Guid.NewGuid():N}");

    protected const string MessageSerial = "e1-00000000000000000042";

    /// <summary>Starts a node of the engine under test, sharing annotations with every node this test started.</summary>
    protected abstract Task<IAnnotationStore> StartNodeAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync() => Task.CompletedTask;

    protected static Annotation Annotation(string type, string? name, string? clientId, int action = AnnotationActions.Create, string? id = null, int? count = null) => new()
    {
        Id = id ?? Guid.NewGuid().ToString("N"),
        Action = action,
        MessageSerial = MessageSerial,
        Type = type,
        Name = name,
        ClientId = clientId,
        Count = count,
        Data = MessageData.FromText("payload"),
        Extras = JsonPayload.Parse("""{"headers":{"k":"v"}}"""),
        Timestamp = 1_795_000_000_000,
    };

    protected static JsonElement Summary(JsonPayload payload) => payload.ToElement().GetProperty("summary");

    [Fact]
    public async Task Annotations_get_increasing_serials_after_their_message_and_read_back_in_order_with_their_fields()
    {
        var store = await StartNodeAsync();
        var first = await store.PublishAsync(Channel, Annotation("reaction:distinct.v1", "👍", "alice"), Storage).Within();
        var second = await store.PublishAsync(Channel, Annotation("reaction:distinct.v1", "👎", "bob"), Storage).Within();

        Assert.True(string.CompareOrdinal(first.Annotation.Serial, MessageSerial) > 0);
        Assert.True(string.CompareOrdinal(second.Annotation.Serial, first.Annotation.Serial) > 0);
        var all = await store.ReadAsync(Channel, MessageSerial, 0, 10).Within();
        Assert.Equal(["👍", "👎"], all.Select(a => a.Name));
        Assert.Equal(first.Annotation.Serial, all[0].Serial);
        Assert.Equal("payload", all[0].Data.Text);
        Assert.Equal("""{"headers":{"k":"v"}}""", all[0].Extras!.ToString());
        Assert.Equal("reaction:distinct.v1", all[0].Type);
        Assert.Equal(MessageSerial, all[0].MessageSerial);
        Assert.Equal(1_795_000_000_000, all[0].Timestamp);
        Assert.Equal(["👎"], (await store.ReadAsync(Channel, MessageSerial, 1, 10).Within()).Select(a => a.Name));
        Assert.Empty(await store.ReadAsync(Channel, "e1-00000000000000000099", 0, 10).Within());
    }

    [Fact]
    public async Task The_summary_folds_every_type_and_is_read_back()
    {
        var store = await StartNodeAsync();
        await store.PublishAsync(Channel, Annotation("like:total.v1", null, null), Storage).Within();
        await store.PublishAsync(Channel, Annotation("spam:flag.v1", null, "alice"), Storage).Within();
        var last = await store.PublishAsync(Channel, Annotation("stars:multiple.v1", "gold", "alice", count: 4), Storage).Within();

        var summary = Summary(last.Summary);
        Assert.Equal(1, summary.GetProperty("like:total.v1").GetProperty("total").GetInt32());
        Assert.Equal("alice", summary.GetProperty("spam:flag.v1").GetProperty("clientIds")[0].GetString());
        Assert.Equal(4, summary.GetProperty("stars:multiple.v1").GetProperty("gold").GetProperty("total").GetInt32());
        var read = await store.GetSummaryAsync(Channel, MessageSerial, 100).Within();
        Assert.Equal(last.Summary.ToString(), read!.ToString());
        Assert.Null(await store.GetSummaryAsync(Channel, "e1-00000000000000000099", 100).Within());
    }

    [Fact]
    public async Task A_repeated_id_is_not_applied_again()
    {
        var store = await StartNodeAsync();
        var annotation = Annotation("like:total.v1", null, "alice", id: "conn:1:0");
        var first = await store.PublishAsync(Channel, annotation, Storage).Within();
        var again = await store.PublishAsync(Channel, annotation.Clone(), Storage).Within();

        Assert.Equal(first.Annotation.Serial, again.Annotation.Serial);
        Assert.Single(await store.ReadAsync(Channel, MessageSerial, 0, 10).Within());
        Assert.Equal(1, Summary((await store.GetSummaryAsync(Channel, MessageSerial, 100).Within())!).GetProperty("like:total.v1").GetProperty("total").GetInt32());
    }

    [Fact]
    public async Task Every_node_receives_each_annotation_with_its_summary_in_the_order_applied()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        var received = new ConcurrentQueue<AnnotationEvent>();
        await using var subscription = await b.SubscribeAsync(Channel, received.Enqueue).Within();

        for (var i = 0; i < 5; i++)
        {
            await (i % 2 == 0 ? a : b).PublishAsync(Channel, Annotation("like:total.v1", null, $"c{i}"), Storage).Within();
        }

        await Wait.Eventually("five events", () => received.Count == 5);
        Assert.Equal([1, 2, 3, 4, 5], received.Select(e => Summary(e.Summary).GetProperty("like:total.v1").GetProperty("total").GetInt32()));
        Assert.Equal(received.Select(e => e.Annotation.Serial).Order(StringComparer.Ordinal), received.Select(e => e.Annotation.Serial));
        Assert.All(received, e => Assert.Equal(Channel, e.Channel));
        Assert.Equal([1L, 2, 3, 4, 5], received.Select(e => e.Sequence));
    }

    [Fact]
    public async Task Events_are_numbered_per_channel_across_messages_and_read_back_after_a_sequence()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        Assert.Equal(0, await b.GetSequenceAsync(Channel).Within());
        Assert.Empty(await b.ReadEventsAsync(Channel, 0, 10).Within());
        var published = new List<AnnotationEvent>();
        for (var i = 0; i < 6; i++)
        {
            var annotation = Annotation("like:total.v1", null, $"c{i}");
            annotation.MessageSerial = i % 2 == 0 ? MessageSerial : "e1-00000000000000000043";
            published.Add(await (i % 2 == 0 ? a : b).PublishAsync(Channel, annotation, Storage).Within());
        }

        Assert.Equal([1L, 2, 3, 4, 5, 6], published.Select(e => e.Sequence));
        await a.PublishAsync(Channel, published[0].Annotation, Storage).Within();
        Assert.Equal(6, await a.GetSequenceAsync(Channel).Within()); // a repeated id is not numbered again

        var read = await b.ReadEventsAsync(Channel, 2, 3).Within();
        Assert.Equal([3L, 4, 5], read.Select(e => e.Sequence));
        Assert.Equal(published.Skip(2).Take(3).Select(e => e.Annotation.Serial), read.Select(e => e.Annotation.Serial));
        Assert.Equal(published[3].Summary.Utf8Json.ToArray(), read[1].Summary.Utf8Json.ToArray());
        Assert.Equal("payload", read[0].Annotation.Data.Text);
        Assert.Empty(await a.ReadEventsAsync(Channel, 6, 10).Within());
        Assert.Equal(0, await a.GetSequenceAsync(new ChannelKey("app", Channel.Name + "-other")).Within());
    }

    [Fact]
    public async Task Two_nodes_annotating_one_message_at_once_both_count()
    {
        var a = await StartNodeAsync();
        var b = await StartNodeAsync();
        const int PerNode = 40;
        await Task.WhenAll(
            Enumerable.Range(0, PerNode).Select(i => a.PublishAsync(Channel, Annotation("reaction:distinct.v1", i % 2 == 0 ? "up" : "down", $"a{i}"), Storage).AsTask())
                .Concat(Enumerable.Range(0, PerNode).Select(i => b.PublishAsync(Channel, Annotation("reaction:distinct.v1", i % 2 == 0 ? "up" : "down", $"b{i}"), Storage).AsTask()))
                .Concat(Enumerable.Range(0, PerNode).Select(i => (i % 2 == 0 ? a : b).PublishAsync(Channel, Annotation("seen:total.v1", null, null), Storage).AsTask()))).Within();

        var summary = Summary((await b.GetSummaryAsync(Channel, MessageSerial, 1000).Within())!);
        var reactions = summary.GetProperty("reaction:distinct.v1");
        Assert.Equal(PerNode, reactions.GetProperty("up").GetProperty("total").GetInt32());
        Assert.Equal(PerNode, reactions.GetProperty("down").GetProperty("total").GetInt32());
        Assert.Equal(PerNode, summary.GetProperty("seen:total.v1").GetProperty("total").GetInt32());
        var all = await a.ReadAsync(Channel, MessageSerial, 0, 1000).Within();
        Assert.Equal(3 * PerNode, all.Count);
        Assert.Equal(3 * PerNode, all.Select(x => x.Serial).Distinct().Count());
    }
}
