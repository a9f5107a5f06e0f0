using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Annotations;
using TokenWire.Testing;

namespace TokenWire.Redis.Tests.Annotations;

/// <summary>
/// Annotations shared by nodes against the shared contract (each node its own multiplexer, as separate processes
/// would be: concurrent annotations of one message meet at annotate.lua's compare-and-set), plus the keys' expiry.
/// </summary>
[Collection(RedisCollection.Name)]
public sealed class RedisAnnotationStoreTests(RedisServerFixture redis) : AnnotationStoreConformance
{
    private readonly RedisNodes _nodes = new(redis);

    protected override async Task<IAnnotationStore> StartNodeAsync() => new RedisAnnotationStore(await _nodes.ConnectAsync(), _nodes.Keys);

    public override async Task DisposeAsync() => await _nodes.DisposeAsync();

    [Fact]
    public async Task A_messages_annotation_keys_and_the_channels_retained_events_expire_after_the_retention_its_sequence_never()
    {
        var store = await StartNodeAsync();
        await store.PublishAsync(Channel, Annotation("like:total.v1", null, "alice"), new AnnotationStorage(TimeSpan.FromMinutes(3), 100)).Within();

        var db = redis.Redis.GetDatabase();
        var (sequence, events) = (_nodes.Keys.AnnotationEvents(Channel)[0], _nodes.Keys.AnnotationEvents(Channel)[1]);
        foreach (var key in _nodes.Keys.Annotations(Channel, MessageSerial).Where(k => k != sequence))
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(3));
        }

        Assert.Contains(events, _nodes.Keys.Annotations(Channel, MessageSerial));
        Assert.True(await db.KeyExistsAsync(sequence));
        Assert.Null(await db.KeyTimeToLiveAsync(sequence)); // a sequence is never reused, or nodes would drop new events as seen
    }
}
