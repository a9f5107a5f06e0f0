using StackExchange.Redis;
using TokenWire.Conformance;
using TokenWire.Redis.Tests.Support;
using TokenWire.Server.Push;

namespace TokenWire.Redis.Tests.Push;

/// <summary>Push registrations shared by nodes (each its own multiplexer, as separate processes) against the shared contract.</summary>
[Collection(RedisCollection.Name)]
public sealed class RedisPushRegistryTests(RedisServerFixture redis) : PushRegistryConformance
{
    private readonly RedisKeys _keys = new(RedisServerFixture.UniquePrefix());
    private readonly List<ConnectionMultiplexer> _multiplexers = [];

    protected override async Task<IPushRegistry> StartNodeAsync()
    {
        var multiplexer = await redis.ConnectAsync();
        _multiplexers.Add(multiplexer);
        return new RedisPushRegistry(multiplexer, _keys);
    }

    public override async Task DisposeAsync()
    {
        foreach (var multiplexer in _multiplexers)
        {
            await multiplexer.DisposeAsync();
        }
    }
}
