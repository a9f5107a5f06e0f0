using StackExchange.Redis;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Engine;

namespace TokenWire.Redis.Tests.Log;

/// <summary>The Redis engine against the shared delivery contract: each node its own multiplexer, log and bus.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisMessageBusTests(RedisServerFixture redis) : MessageBusConformance
{
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<ConnectionMultiplexer> _links = [];

    protected override async Task<EngineNode> StartNodeAsync()
    {
        var link = await redis.ConnectAsync();
        _links.Add(link);
        return new EngineNode(new RedisMessageLog(link, _keys, TimeProvider.System, TimeSpan.FromMinutes(5)), new RedisMessageBus(link, _keys));
    }

    public override async Task DisposeAsync()
    {
        foreach (var link in _links)
        {
            await link.DisposeAsync();
        }
    }
}
