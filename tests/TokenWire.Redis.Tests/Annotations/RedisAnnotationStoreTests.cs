using StackExchange.Redis;
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
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<ConnectionMultiplexer> _multiplexers = [];

    protected override async Task<IAnnotationStore> StartNodeAsync()
    {
        var multiplexer = await redis.ConnectAsync();
        _multiplexers.Add(multiplexer);
        return new RedisAnnotationStore(multiplexer, _keys);
    }

    public override async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_messages_annotation_keys_and_the_channels_retained_events_expire_after_the_retention_its_sequence_never()
    {
        var store = await StartNodeAsync();
        await store.PublishAsync(Channel, Annotation("like:total.v1", null, "alice"), new AnnotationStorage(TimeSpan.FromMinutes(3), 100)).Within();

        var db = redis.Redis.GetDatabase();
        var (sequence, events) = (_keys.AnnotationEvents(Channel)[0], _keys.AnnotationEvents(Channel)[1]);
        foreach (var key in _keys.Annotations(Channel, MessageSerial).Where(k => k != sequence))
        {
            var ttl = await db.KeyTimeToLiveAsync(key);
            Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(3));
        }

        Assert.Contains(events, _keys.Annotations(Channel, MessageSerial));
        Assert.True(await db.KeyExistsAsync(sequence));
        Assert.Null(await db.KeyTimeToLiveAsync(sequence)); // a sequence is never reused, or nodes would drop new events as seen
    }
}
