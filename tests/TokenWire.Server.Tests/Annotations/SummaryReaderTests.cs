using Microsoft.Extensions.Options;
using TokenWire.Protocol;
using TokenWire.Protocol.Serials;
using TokenWire.Server.Annotations;
using TokenWire.Server.Auth;
using TokenWire.Server.Configuration;
using TokenWire.Server.Engine;
using TokenWire.Server.Log;
using TokenWire.Server.Tests.Support;

namespace TokenWire.Server.Tests.Annotations;

/// <summary>
/// A history page's summaries: looked up only on a channel that has had an annotation, found for the messages that have
/// one, and read from stored entries without decoding them.
/// </summary>
public sealed class SummaryReaderTests
{
    private static readonly AppDefinition App = new("app", new Dictionary<string, ApiKey>(), new HashSet<string>(), 65536, 100, mutableNamespaces: new HashSet<string> { "mutable" });
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_mutable_channel_never_annotated_costs_one_look_up_for_a_whole_page()
    {
        var store = new CountingStore();
        var (log, _) = Log(100);
        var page = log.ReadHistory(new HistoryQuery(null, null, Forwards: false, Limit: 100, null, null));

        var summaries = await Reader(store).ForEntriesAsync(App, "mutable:chat", page.Entries, CancellationToken.None);

        Assert.Null(summaries);
        Assert.Equal((1, 0), (store.SequenceReads, store.SummaryReads));
    }

    [Fact]
    public async Task Annotated_messages_get_their_summaries_in_page_order_and_the_rest_none()
    {
        var store = new CountingStore();
        var (log, epoch) = Log(10);
        var channel = new ChannelKey(App.Id, "mutable:chat");
        foreach (var offset in new[] { 3L, 7L })
        {
            await store.PublishAsync(channel, new Annotation
            {
                Id = "a" + offset,
                Action = AnnotationActions.Create,
                MessageSerial = new LogPosition(epoch, offset).ToSerial(),
                Type = "like:total.v1",
                ClientId = "alice",
                Timestamp = 1,
            }, new AnnotationStorage(TimeSpan.FromHours(1), 100));
        }

        var page = log.ReadHistory(new HistoryQuery(null, null, Forwards: true, Limit: 10, null, null));

        var summaries = await Reader(store).ForEntriesAsync(App, "mutable:chat", new UnreadableEntries(page.Entries), CancellationToken.None);

        Assert.NotNull(summaries);
        Assert.Equal([3, 7], Enumerable.Range(1, 10).Where(offset => summaries[offset - 1] is not null));
        Assert.Contains("like:total.v1", summaries[2]!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_channel_outside_the_mutable_namespaces_is_not_looked_up()
    {
        var store = new CountingStore();
        var (log, _) = Log(5);
        var page = log.ReadHistory(new HistoryQuery(null, null, Forwards: false, Limit: 100, null, null));

        Assert.Null(await Reader(store).ForEntriesAsync(App, "chat", page.Entries, CancellationToken.None));
        Assert.Equal((0, 0), (store.SequenceReads, store.SummaryReads));
    }

    private static SummaryReader Reader(IAnnotationStore store) => new(store, Options.Create(new TokenWireOptions()));

    private static (InMemoryChannelLog Log, string Epoch) Log(int count)
    {
        var epoch = LogPosition.NewEpoch(Start);
        var log = new InMemoryChannelLog(epoch);
        var retention = new ChannelRetention(TimeSpan.FromHours(1), 10_000, TimeSpan.FromMinutes(2));
        for (var i = 0; i < count; i++)
        {
            log.Append([new Message { Name = "token", Data = MessageData.FromText("t" + i) }], retention, Start, null);
        }

        return (log, epoch);
    }

    private sealed class CountingStore : IAnnotationStore
    {
        private readonly InMemoryAnnotationStore _inner = new();

        public int SequenceReads { get; private set; }

        public int SummaryReads { get; private set; }

        public ValueTask<AnnotationEvent> PublishAsync(ChannelKey channel, Annotation annotation, AnnotationStorage storage, CancellationToken cancellationToken = default) =>
            _inner.PublishAsync(channel, annotation, storage, cancellationToken);

        public ValueTask<IReadOnlyList<Annotation>> ReadAsync(ChannelKey channel, string messageSerial, int start, int limit, CancellationToken cancellationToken = default) =>
            _inner.ReadAsync(channel, messageSerial, start, limit, cancellationToken);

        public ValueTask<JsonPayload?> GetSummaryAsync(ChannelKey channel, string messageSerial, int maxClientIds, CancellationToken cancellationToken = default)
        {
            SummaryReads++;
            return _inner.GetSummaryAsync(channel, messageSerial, maxClientIds, cancellationToken);
        }

        public ValueTask<long> GetSequenceAsync(ChannelKey channel, CancellationToken cancellationToken = default)
        {
            SequenceReads++;
            return _inner.GetSequenceAsync(channel, cancellationToken);
        }

        public ValueTask<IReadOnlyList<AnnotationEvent>> ReadEventsAsync(ChannelKey channel, long after, int limit, CancellationToken cancellationToken = default) =>
            _inner.ReadEventsAsync(channel, after, limit, cancellationToken);

        public ValueTask<IAsyncDisposable> SubscribeAsync(ChannelKey channel, Action<AnnotationEvent> handler, CancellationToken cancellationToken = default) =>
            _inner.SubscribeAsync(channel, handler, cancellationToken);
    }
}
